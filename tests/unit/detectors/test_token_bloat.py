"""token_bloat: p95 prompt size or median prompt/completion ratio per node."""

from __future__ import annotations

from pathlib import Path

from factories import Export, analyze, patterns_of


def _calls(exp: Export, node: str, pairs: list[tuple[int, int]], span: str = "s") -> None:
    exp.transition(span, "entry", node)
    for prompt, completion in pairs:
        exp.llm(span, prompt=prompt, completion=completion)


def test_large_p95_prompt_is_a_warning(tmp_path: Path) -> None:
    exp = Export()
    _calls(exp, "answerFaq", [(9000, 2000)] * 10)
    (p,) = patterns_of(analyze(exp, tmp_path), "token_bloat")
    assert (p.key, p.severity.value) == ({"node": "answerFaq"}, "warning")
    assert p.details["prompt_tokens_p95"] == 9000
    assert p.details["ratio_p50"] == 4.5


def test_very_large_prompt_is_critical(tmp_path: Path) -> None:
    exp = Export()
    _calls(exp, "answerFaq", [(20000, 2000)] * 10)
    (p,) = patterns_of(analyze(exp, tmp_path), "token_bloat")
    assert p.severity.value == "critical"


def test_lopsided_ratio_alone_fires(tmp_path: Path) -> None:
    exp = Export()
    _calls(exp, "classify", [(4000, 50)] * 10)  # ratio 80, prompt below 8000
    (p,) = patterns_of(analyze(exp, tmp_path), "token_bloat")
    assert p.details["ratio_p50"] == 80
    assert "its median prompt is 80× its median completion" in p.recommendation


def test_normal_calls_and_zero_completion_are_handled(tmp_path: Path) -> None:
    exp = Export()
    _calls(exp, "classify", [(1000, 100)] * 10)
    _calls(exp, "summarize", [(300, 0)] * 10, span="t")  # ratio 300/max(0,1) = 300
    found = patterns_of(analyze(exp, tmp_path), "token_bloat")
    assert [p.key for p in found] == [{"node": "summarize"}]


def test_threshold_flags_change_the_outcome(tmp_path: Path) -> None:
    exp = Export()
    _calls(exp, "answerFaq", [(9000, 2000)] * 10)
    assert patterns_of(analyze(exp, tmp_path, prompt_tokens_p95_warning=10000), "token_bloat") == []


def test_the_query_selects_the_node_only_when_its_calls_name_it(tmp_path: Path) -> None:
    exp = Export()
    exp.transition("a", "entry", "answerFaq").transition("b", "entry", "classify")
    for _ in range(5):
        exp.llm("a", prompt=20_000, completion=50, fields={"node": "answerFaq"})
        exp.llm("b", prompt=20_000, completion=50)  # node known from the span only
    found = {p.key["node"]: p for p in patterns_of(analyze(exp, tmp_path), "token_bloat")}
    assert '| node="answerFaq" |' in (found["answerFaq"].grafana_query or "")
    assert "node=" not in (found["classify"].grafana_query or "")

"""`make demo` as written in the Makefile, and the replay file that gives it its LLM pass."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.testing.demo_review import write_demo_replay

ROOT = Path(__file__).resolve().parents[2]
ANSWER = ROOT / "examples" / "llm" / "log-analyzer-review.answer.json"
REPLAY = ROOT / "examples" / "llm" / "log-analyzer-review.replay.json"


def demo_argv() -> list[str]:
    """The arguments of the `micro-gastown` command in the Makefile's demo recipe."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index("demo: $(STAMP)") + 1
    recipe = ""
    for line in lines[start:]:
        recipe += line.strip().removesuffix("\\") + " "
        if not line.endswith("\\"):
            break
    words = shlex.split(recipe)
    assert words[0] == "$(BIN)/micro-gastown", words
    return words[1:]


def test_the_replay_file_is_current(tmp_path: Path) -> None:
    """The committed replay file is what `make demo-review` writes from the answer today;
    when the report, the digest or the polecat's prompt changes, rerun `make demo-review`."""
    fresh = tmp_path / "replay.json"
    write_demo_replay(ANSWER, fresh)
    assert json.loads(fresh.read_text()) == json.loads(REPLAY.read_text()), (
        "examples/llm/log-analyzer-review.replay.json is stale: run `make demo-review`"
    )


def test_make_demo_shows_the_reviewed_report_and_its_cost(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(demo_argv()) == 0
    out, err = capsys.readouterr()
    answer = json.loads(ANSWER.read_text())["output"]
    # the findings in the model's order, each with its sharpened recommendation
    assert re.findall(r'<a id="([^"]+)"></a>', out) == answer["ranking"]
    for item in answer["recommendations"]:
        first_sentence = item["recommendation"].split(". ")[0]
        assert first_sentence.replace("`", "\\`") in out, first_sentence
    assert "(replay backend; order changed: " in out
    [cost] = [
        line for line in err.splitlines() if line.startswith("micro-gastown analyze: LLM review:")
    ]
    assert re.search(r"[\d,]+ in / [\d,]+ out tokens, \$0\.\d{4} of \$0\.50$", cost), cost

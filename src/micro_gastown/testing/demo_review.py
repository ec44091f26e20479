"""The replay file that lets ``make demo`` show the log-analyzer polecat's LLM pass offline.

The demo has no key and no network, so the model's answer is a hand-written one
(``examples/llm/log-analyzer-review.answer.json``). This module runs the demo's analysis,
builds the exact review request ``analyze --llm`` sends, and writes the answer under that
request's key (:func:`micro_gastown.llm.replay.request_key`) as a replay file. Any change to
the report, the digest, the polecat's prompt or the output schema changes the key, so the
demo would fail loudly rather than replay a stale answer; a test regenerates the file and
compares, and ``make demo-review`` rewrites it::

    python -m micro_gastown.testing.demo_review ANSWER.json REPLAY.json

Token counts in the file are estimates from text length (about four characters a token),
marked as such in each entry's ``note``; a live run records the API's real usage instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micro_gastown.app.analyzer import AnalyzeRequest, analyze
from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError
from micro_gastown.llm.base import CallRecord, LlmRequest, LlmResponse, Meter, Usage
from micro_gastown.llm.models import resolve_model
from micro_gastown.llm.replay import Recording, request_key
from micro_gastown.report.model import PatternReport

ROOT = Path(__file__).resolve().parents[3]
DEMO_LOGS = ROOT / "examples" / "logs" / "exomonad-sample.jsonl.gz"
DEMO_REPO = ROOT / "examples" / "exomonad-sample"
CHARS_PER_TOKEN = 4


def estimated_tokens(*texts: str) -> int:
    """A plain length estimate, for a recording's usage (not the budget's upper bound)."""
    return max(1, sum(len(text) for text in texts) // CHARS_PER_TOKEN)


@dataclass
class ScriptedReview:
    """A backend that answers the one review request with ``output`` and keeps the entry."""

    output: dict[str, Any]
    note: str
    name: str = "scripted"
    entry: tuple[str, dict[str, Any]] | None = None

    def close(self) -> None:
        """Nothing held."""

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        model = resolve_model(request.model)
        tools = json.dumps(
            [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
            + [{"name": request.output_name, "input_schema": request.output_schema}],
            default=str,
        )
        answer = json.dumps(self.output, ensure_ascii=False)
        usage = Usage(
            input_tokens=estimated_tokens(request.system, request.prompt, tools),
            output_tokens=estimated_tokens(answer),
        )
        meter.before(model, usage.input_tokens, request.max_tokens)
        record = CallRecord(model, usage)
        meter.after(record)
        recording = Recording(self.output, (record,))
        self.entry = (request_key(request), {"note": self.note, **recording.to_json()})
        return LlmResponse(self.output, (record,))


def _demo_report() -> PatternReport:
    """The demo analysis, as `make demo` runs it (without the review)."""
    request = AnalyzeRequest(source=f"file:{DEMO_LOGS}", repo=DEMO_REPO)
    return analyze(request).report


def write_demo_replay(answer_path: Path, replay_path: Path) -> None:
    """Run the demo analysis and write ``answer_path``'s answer as ``replay_path``."""
    from micro_gastown.analysis.review import review_with_polecat
    from micro_gastown.bundled import bundled_polecat
    from micro_gastown.config.polecat import load_polecat
    from micro_gastown.llm.ledger import CostLedger

    try:
        answer = json.loads(answer_path.read_text(encoding="utf-8"))
        output, note = answer["output"], answer["note"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{answer_path}: expected a JSON object with 'note' and 'output' ({exc})"
        ) from None
    estimate = " Its token counts are estimates from text length, not a model's usage."
    backend = ScriptedReview(output, note + estimate)
    report = _demo_report()
    reviewed, outcome = review_with_polecat(
        report,
        load_polecat(bundled_polecat("log-analyzer")),
        backend,
        CostLedger().meter("analyze"),
        checkout=DEMO_REPO,
    )
    if backend.entry is None or reviewed is report:  # the review hands back a dropped answer
        raise ConfigError(f"{answer_path}: the answer does not fit the demo report: {outcome}")
    key, entry = backend.entry
    text = json.dumps({key: entry}, indent=2, sort_keys=True, ensure_ascii=False)
    write_atomic(replay_path, text.encode("utf-8") + b"\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m micro_gastown.testing.demo_review",
        description="write the demo's replay file for the LLM review from a hand-written answer",
    )
    parser.add_argument("answer", type=Path, help="the hand-written answer (JSON)")
    parser.add_argument("replay", type=Path, help="the replay file to write")
    args = parser.parse_args(argv)
    write_demo_replay(args.answer, args.replay)
    print(f"wrote {args.replay}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

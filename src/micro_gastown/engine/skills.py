"""The Python side of the skill formulas the evolve pipeline runs.

``analyze`` runs the Log Analyzer exactly as ``micro-gastown analyze`` does (same flags,
same validation) and writes ``report.json`` into the step's directory; with ``llm`` true,
the log-analyzer polecat's LLM pass follows, its calls charged to the run's ledger. The
review is optional: when it cannot run (the API down, a rejected key, an unusable
answer) the step still completes with the deterministic report, and its record says
``review: skipped`` with a code and the reason; only a budget stop fails the step (the
run stops, resumable with a larger budget). A window without events completes too, with
a warning in the record. On a file source ``since`` may be empty: the whole export is
read, as ``analyze`` reads a file. ``refine`` and ``file-pr`` are not built yet: their
steps fail with a clear "not available", and the run stays resumable (``evolve --resume
RUN-ID``) for when they are.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.atomicfile import write_atomic
from micro_gastown.engine.executor import Skill, StepContext
from micro_gastown.errors import BudgetExceeded, LlmError, OutputError, SourceError, StepUnavailable
from micro_gastown.sources import is_file_source

# `micro-gastown analyze` flags for the analyze skill formula's inputs, and for the run
# settings that are not inputs of the formula.
_INPUT_FLAGS = {"source": "--source", "since": "--since", "until": "--until", "repo": "--repo"}
_SETTING_FLAGS = {"selector": "--selector", "pushdown": "--pushdown"}


class AnalyzeSkill:
    name = "analyze"

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return None  # no effect outside the run directory: simply run it again

    def run(self, context: StepContext) -> dict[str, Any]:
        from micro_gastown.cli import build_parser

        inputs = _bound_inputs(context)
        report = context.directory / "report.json"
        argv = ["analyze", "--output", str(report)]
        for name, flag in _INPUT_FLAGS.items():
            if inputs.get(name) not in (None, ""):
                argv += [flag, str(inputs[name])]
        for name, flag in _SETTING_FLAGS.items():
            if context.settings.get(name) not in (None, ""):
                argv += [flag, str(context.settings[name])]
        args = build_parser().parse_args(argv)
        try:
            args.func(args)  # raises MicroGastownError on anything the user can fix
        except SourceError as exc:
            if is_file_source(str(inputs.get("source", ""))):
                exc.retryable = False  # an export reads the same way on every attempt
            raise
        try:
            data = orjson.loads(report.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise OutputError(f"{report}: the analysis wrote no readable report ({exc})") from None
        review = None
        if inputs.get("llm") is True:
            data, review = self._review(context, data, report, inputs.get("repo"))
        summary = data["summary"]
        outputs: dict[str, Any] = {
            "output": str(report),  # what {{steps.<id>.output}} names
            "events_analyzed": summary["events_analyzed"],
            "patterns": summary["total_patterns"],
            "critical": summary["critical"],
            "warning": summary["warning"],
            "info": summary["info"],
            "pattern_ids": [pattern["id"] for pattern in data["patterns"]],
        }
        if review is not None:
            outputs["review"] = review
        if summary["events_analyzed"] == 0:
            # analyze has said so on stderr; the run's record keeps it too
            notes = (data.get("metadata") or {}).get("notes") or []
            empty = [n for n in notes if str(n).startswith("no events")]
            outputs["warnings"] = empty[:1] or ["no events in the window"]
        return outputs

    @staticmethod
    def _review(
        context: StepContext, data: dict[str, Any], path: Path, repo: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The log-analyzer polecat's LLM pass over the step's report, charged to the run's
        ledger through the step's meter, with the run's backend settings: the report as
        written, and what became of the review (applied, dropped by the checks, or
        skipped with a code and why).

        The report stands without the review, so a review that cannot run leaves it as the
        detectors wrote it, with a note; only a budget stop is raised (the run stops)."""
        from micro_gastown.analysis.review import review_with_polecat, skip_code, with_note
        from micro_gastown.config.configset import load_config
        from micro_gastown.llm.factory import BackendChoice
        from micro_gastown.report.model import PatternReport

        settings = context.settings
        config = load_config([Path(d) for d in settings.get("config_dirs", [])])
        polecat = config.polecat(config.skill("analyze").execution.polecat)
        report = PatternReport.model_validate(data)
        try:
            backend = BackendChoice.from_settings(settings).build(os.environ)
            with contextlib.closing(backend):
                reviewed, note = review_with_polecat(
                    report,
                    polecat,
                    backend,
                    context.meter,
                    checkout=Path(repo) if repo else None,
                )
            # review_report hands the report back as it was when it drops the answer
            status = "dropped" if reviewed is report else "applied"
            review: dict[str, Any] = {"status": status, "note": note}
        except BudgetExceeded:
            raise
        except LlmError as exc:
            code = skip_code(exc)
            print(
                f"micro-gastown: warning: LLM review skipped ({code}), the report is kept "
                f"without it: {exc}",
                file=sys.stderr,
            )
            reviewed, note = report, f"LLM review not applied: {exc}"
            review = {"status": "skipped", "code": code, "reason": str(exc)}
        written = with_note(reviewed, note).to_json()
        write_atomic(path, written + b"\n")
        result: dict[str, Any] = orjson.loads(written)
        return result, review


def _bound_inputs(context: StepContext) -> dict[str, Any]:
    """The step's inputs read by the analyze skill formula's ``[input]`` table (types,
    defaults, required inputs: a ConfigError naming them), where an input the step leaves
    empty is taken from the run's settings (``--source``, ``--repo``) before the
    formula's default."""
    from micro_gastown.config.configset import load_config

    config = load_config([Path(d) for d in context.settings.get("config_dirs", [])])
    formula = config.skill("analyze")
    given = {k: v for k, v in context.inputs.items() if v not in (None, "")}
    for name in formula.input.specs:
        if name not in given and context.settings.get(name) not in (None, ""):
            given[name] = context.settings[name]
    if "since" not in given and is_file_source(str(given.get("source", ""))):
        # An export is read whole unless the run pinned a window (evolve pins `since`
        # empty for a file): `since` is then not required.
        required = [name for name in formula.input.required if name != "since"]
        inputs = formula.input.model_copy(update={"required": required})
        formula = formula.model_copy(update={"input": inputs})
    return dict(formula.bind_inputs(given))


class UnavailableSkill:
    """A skill whose implementation has not landed: fails its step, keeps the run."""

    def __init__(self, name: str) -> None:
        self.name = name

    def discover(self, context: StepContext) -> dict[str, Any] | None:
        return None

    def run(self, context: StepContext) -> dict[str, Any]:
        raise StepUnavailable(
            f"the {self.name} skill is not available in this micro-gastown yet; the run is "
            f"kept, and `micro-gastown evolve --resume {context.run_id}` continues from here "
            "once it is"
        )


def builtin_skills() -> dict[str, Skill]:
    return {
        "analyze": AnalyzeSkill(),
        "refine": UnavailableSkill("refine"),
        "file-pr": UnavailableSkill("file-pr"),
    }

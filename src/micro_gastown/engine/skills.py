"""The Python side of the skill formulas the evolve pipeline runs.

``analyze`` runs the Log Analyzer exactly as ``micro-gastown analyze`` does (same flags,
same validation) and writes ``report.json`` into the step's directory; with ``llm`` true,
the log-analyzer polecat's LLM pass follows, its calls charged to the run's ledger. ``refine`` and
``file-pr`` are not built yet: their steps fail with a clear "not available", and the run
stays resumable (``evolve --resume RUN-ID``) for when they are.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.atomicfile import write_atomic
from micro_gastown.engine.executor import Skill, StepContext
from micro_gastown.errors import OutputError, StepUnavailable

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
        args.func(args)  # raises MicroGastownError on anything the user can fix
        try:
            data = orjson.loads(report.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise OutputError(f"{report}: the analysis wrote no readable report ({exc})") from None
        if inputs.get("llm") is True:
            data = self._review(context, data, report, inputs.get("repo"))
        summary = data["summary"]
        return {
            "output": str(report),  # what {{steps.<id>.output}} names
            "patterns": summary["total_patterns"],
            "critical": summary["critical"],
            "warning": summary["warning"],
            "info": summary["info"],
            "pattern_ids": [pattern["id"] for pattern in data["patterns"]],
        }

    @staticmethod
    def _review(
        context: StepContext, data: dict[str, Any], path: Path, repo: str | None
    ) -> dict[str, Any]:
        """The log-analyzer polecat's LLM pass over the step's report, charged to the run's
        ledger through the step's meter, with the run's backend settings."""
        from micro_gastown.analysis.review import review_with_polecat, with_note
        from micro_gastown.config.configset import load_config
        from micro_gastown.llm.factory import BackendChoice
        from micro_gastown.report.model import PatternReport

        settings = context.settings
        config = load_config([Path(d) for d in settings.get("config_dirs", [])])
        polecat = config.polecat(config.skill("analyze").execution.polecat)
        backend = BackendChoice.from_settings(settings).build(os.environ)
        with contextlib.closing(backend):
            reviewed, note = review_with_polecat(
                PatternReport.model_validate(data),
                polecat,
                backend,
                context.meter,
                checkout=Path(repo) if repo else None,
            )
        reviewed = with_note(reviewed, note)
        written = reviewed.to_json()
        write_atomic(path, written + b"\n")
        result: dict[str, Any] = orjson.loads(written)
        return result


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

"""Evolve: create, resume and run the recorded pipeline (analyze → refine → file-pr).

A face builds an :class:`EvolveRequest` for a new run (:func:`create_run`), or names a
recorded one (:func:`load_run`), and hands it to :func:`execute_run`. Everything a step
would only find out later (the source, the checkout, the model and its key) is checked
before a run exists; the window is pinned to absolute instants when the run is created, so
a run resumed tomorrow analyzes the window it was made for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from micro_gastown.app.analyzer import ANALYZE_SKILL, LlmRequest
from micro_gastown.app.refine import REFINE_SKILL
from micro_gastown.app.settings import Pushdown
from micro_gastown.app.skills import builtin_skills
from micro_gastown.config.configset import ConfigSet, load_config
from micro_gastown.config.dag import resolve_vars, topological_order
from micro_gastown.config.placeholders import evaluate_condition, substitute
from micro_gastown.dsl import read_dsl
from micro_gastown.engine.executor import Engine, PlannedStep
from micro_gastown.engine.state import RunState, RunStore, new_run_id
from micro_gastown.llm.ledger import DEFAULT_BUDGET_USD, CostLedger
from micro_gastown.llm.models import resolve_model
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.sources import FileSource, is_file_source, open_source
from micro_gastown.timewindow import datetime_to_ns, format_ns, parse_duration, window_from_flags

RUN_SETTINGS = ("source", "repo", "selector", "pushdown")
"""The request's settings a run records for its analyze step (see :mod:`.skills`)."""


class EvolveRequest(BaseModel):
    """A new run of a DAG formula (``evolve`` unless said otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = "loki"
    since: str | None = None
    until: str | None = None
    repo: Path | None = None
    selector: str = DEFAULT_SELECTOR
    pushdown: Pushdown | None = None
    llm: bool = False
    dry_run: bool = False
    max_prs: int | None = Field(None, ge=0)
    formula: str = "evolve"
    config_dirs: tuple[Path, ...] = ()
    backend: LlmRequest = Field(default_factory=LlmRequest)
    """The model backend; its ``budget_usd`` is ignored in favour of :attr:`budget_usd`."""
    budget_usd: float | None = Field(None, ge=0)

    def absolute_config_dirs(self) -> list[str]:
        return [str(path.absolute()) for path in self.config_dirs]

    def recorded_settings(self) -> dict[str, Any]:
        """The settings as the run records them: local paths absolute, so that a resume
        from another directory finds them."""
        values = {
            "source": self.source,
            "repo": self.repo,
            "selector": self.selector,
            "pushdown": self.pushdown,
        }
        return {name: absolute(name, str(v)) for name, v in values.items() if v is not None}

    def given_vars(self) -> dict[str, str]:
        given = {}
        if self.since is not None:
            given["since"] = self.since
        if self.until is not None:
            given["until"] = self.until
        if self.llm:
            given["llm"] = "true"
        if self.dry_run:
            given["dry_run"] = "true"
        if self.max_prs is not None:
            given["max_prs"] = str(self.max_prs)
        return given


def absolute(name: str, value: str) -> str:
    """A setting naming a local path, made absolute so a resume from elsewhere finds it."""
    if name == "repo":
        return str(Path(value).absolute())
    if name == "source" and value.startswith("file:"):
        return "file:" + str(Path(value.removeprefix("file:")).absolute())
    return value


def check_setup(request: EvolveRequest, config: ConfigSet) -> None:
    """What a step would only find out later, checked before a run exists: the source (its
    spelling, the Loki settings in the environment, an export that is there), the DSL
    checkout, and for each skill that will call a model (refine, given a checkout; analyze
    with ``llm``) its polecat's model under the policy and the backend (a missing key).
    Nothing is read from the logs and no model is called."""
    source = open_source(request.source, selector=request.selector, environ=os.environ)
    if isinstance(source, FileSource):
        source.check()
    source.close()
    if request.repo is not None:
        read_dsl(request.repo)
    refines = (
        request.repo is not None
        and request.max_prs != 0
        and any(step.skill == REFINE_SKILL for step in config.workflow(request.formula).steps)
    )  # without a checkout (or with max_prs 0) the refine step calls no model
    skills = ([ANALYZE_SKILL] if request.llm else []) + ([REFINE_SKILL] if refines else [])
    choice = request.backend.choice()
    for skill in skills:
        polecat = config.polecat(config.skill(skill).execution.polecat)
        resolve_model(polecat.model.name, allow_non_haiku=choice.allow_non_haiku)
    if skills:
        choice.build(os.environ).close()  # a missing key fails here


def _reads_a_whole_file(request: EvolveRequest, values: Mapping[str, str]) -> bool:
    """A file source without ``since``, where the formula's default ``since`` counts back
    from now (the shipped 24h): an export is read whole, as ``analyze`` reads it. A
    formula that sets an absolute start keeps it."""
    if not is_file_source(request.source) or request.since is not None:
        return False
    try:
        parse_duration(values.get("since", "") or "0s")
    except ValueError:
        return False
    return True


def pin_window(
    values: Mapping[str, str], *, whole_file: bool = False, now: datetime | None = None
) -> dict[str, str]:
    """``since``/``until`` as absolute instants, fixed when the run is created.

    "24h" means the 24 hours before the run started, so a run resumed tomorrow still
    analyzes the window it was created for; a bad value fails here, before a run exists.
    With ``whole_file`` (a file source and no ``since``), ``since`` is pinned empty: the
    export is read from its start, as ``analyze`` reads a file, not from a day back from
    now (which on an export holds nothing); an empty ``until`` reads it to its end.
    """
    now = now or datetime.now(UTC)
    since, until = values.get("since") or None, values.get("until") or None
    window = window_from_flags(None if whole_file else since, until, now=now)
    pinned = dict(values)
    if whole_file and "since" in values:
        pinned["since"] = ""
    if window.start_ns is not None:
        pinned["since"] = format_ns(window.start_ns)
    if window.end_ns is not None:
        pinned["until"] = format_ns(window.end_ns)
    elif not whole_file and ("until" in values or window.start_ns is not None):
        pinned["until"] = format_ns(datetime_to_ns(now))
    return pinned


def create_run(request: EvolveRequest, store: RunStore) -> str:
    """Check the request, write a new run's state; its id."""
    config_dirs = request.absolute_config_dirs()
    config = load_config([Path(d) for d in config_dirs])
    formula = config.workflow(request.formula)
    check_setup(request, config)
    settings = request.recorded_settings()
    budget = request.budget_usd
    settings.update(
        request.backend.choice().settings(),
        budget_usd=budget if budget is not None else float(DEFAULT_BUDGET_USD),
        config_dirs=config_dirs,
    )
    values = resolve_vars(formula, request.given_vars())
    state = RunState(
        new_run_id(),
        formula.formula,
        str(config.files.get(f"formulas/{formula.formula}.formula.toml", "")),
        pin_window(values, whole_file=_reads_a_whole_file(request, values)),
        settings,
    )
    store.create(state)
    return state.run_id


def load_run(
    store: RunStore,
    run_id: str,
    *,
    budget_usd: float | None = None,
    config_dirs: tuple[Path, ...] = (),
) -> tuple[RunState, ConfigSet]:
    """The recorded run and its configuration: the run's own config directories, then any
    given now; a budget given now replaces the recorded one."""
    state = store.load(run_id)
    if budget_usd is not None:
        state.settings["budget_usd"] = budget_usd
    given = [str(path.absolute()) for path in config_dirs]
    recorded = [d for d in state.settings.get("config_dirs", []) if d not in given]
    state.settings["config_dirs"] = [*recorded, *given]
    return state, load_config([Path(d) for d in state.settings["config_dirs"]])


def execute_run(
    state: RunState,
    config: ConfigSet,
    store: RunStore,
    *,
    echo: Callable[[str], None],
) -> tuple[RunState, CostLedger]:
    """Run the formula's steps from where ``state`` stands; the final state and ledger."""
    plan = []
    for step in topological_order(config.workflow(state.formula)):
        skill_name = step.skill
        assert skill_name is not None  # loading refuses a step without one (PROSE_STEP)
        execution = config.skill(skill_name).execution
        plan.append(
            PlannedStep(
                step.id,
                skill_name,
                tuple(step.needs),
                step.condition,
                dict(step.inputs),
                float(execution.timeout_seconds),
                execution.retry_count,
            )
        )
    budget = state.settings.get("budget_usd", DEFAULT_BUDGET_USD)
    ledger = (
        CostLedger.from_dict(state.ledger, budget_usd=budget)
        if state.ledger
        else CostLedger(budget_usd=budget)
    )
    engine = Engine(
        store,
        builtin_skills(),
        ledger,
        condition=evaluate_condition,
        substitute=lambda value, values: (
            substitute(value, values) if isinstance(value, str) else value
        ),
        echo=echo,
    )
    return engine.execute(state, plan), ledger

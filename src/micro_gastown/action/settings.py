"""The Action's settings: the composite action's inputs, checked all at once, before anything runs.

``action.yml`` maps each of its inputs to an ``INPUT_*`` variable in the step's ``env:`` (never
``${{ }}`` inside ``run:``), and the secrets and endpoints to the variable names the CLI
already reads (``GRAFANA_LOKI_*``, ``ANTHROPIC_API_KEY``, ``GITHUB_TOKEN``...), which the
application layer reads as it always does. :meth:`ActionSettings.from_environ` takes the
mapping to read (``os.environ`` in :func:`micro_gastown.action.main.main`, a dict in tests),
so which variables count is visible at the call site.

Every input that does not fit is reported, each naming the input as a workflow spells it
(``since``, ``max-prs``), in one :class:`ActionInputError`; a window whose start is not
before its end is one clear error about ``since``. Secrets are held as
:class:`~pydantic.SecretStr`, out of every repr and dump.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from micro_gastown.errors import MicroGastownError, UsageError
from micro_gastown.llm.factory import BACKENDS, BackendChoice
from micro_gastown.logql import DEFAULT_SELECTOR
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.timewindow import parse_duration, parse_instant, window_from_flags

__all__ = [
    "INPUT_VARIABLES",
    "SECRET_VARIABLES",
    "ActionCommand",
    "ActionInputError",
    "ActionSettings",
    "secret_values",
]

MAX_BUDGET_USD: Final = 1_000_000


class ActionCommand(StrEnum):
    """What the Action was asked to do (its ``command`` input)."""

    EVOLVE = "evolve"
    ANALYZE = "analyze"
    ROLLBACK_CHECK = "rollback-check"


INPUT_VARIABLES: Final[Mapping[str, str]] = {
    "command": "INPUT_COMMAND",
    "since": "INPUT_SINCE",
    "until": "INPUT_UNTIL",
    "selector": "INPUT_SELECTOR",
    "dry_run": "INPUT_DRY_RUN",
    "llm": "INPUT_LLM",
    "budget_usd": "INPUT_BUDGET_USD",
    "max_prs": "INPUT_MAX_PRS",
    "config_dirs": "INPUT_CONFIG_DIR",
    "source": "INPUT_SOURCE",
    "repo": "INPUT_REPO",
    "runs_dir": "INPUT_RUNS_DIR",
    "backend": "INPUT_BACKEND",
    "replay": "INPUT_REPLAY",
    "watch_days": "INPUT_WATCH_DAYS",
    "deploy_lag": "INPUT_DEPLOY_LAG",
    "auto_merge": "INPUT_AUTO_MERGE_REVERTS",
    "pull_request": "INPUT_PULL_REQUEST",
}
"""Each setting's variable. ``source``, ``repo``, ``runs_dir``, ``llm``, ``backend`` and
``replay`` are ours (not in the issue's list): the defaults suit a workflow, the others exist
for tests and demos (a ``file:`` export, recorded model answers)."""

SECRET_VARIABLES: Final = (
    "GRAFANA_LOKI_TOKEN",
    "LOKI_PASSWORD",
    "LOKI_BEARER_TOKEN",
    "ANTHROPIC_API_KEY",
    "MICRO_GASTOWN_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
)
"""The variables holding a credential (see ``sources/loki/config.py`` and
``app/filer_settings.py`` for who reads them): each value is masked before anything runs."""


def _input_name(setting: str) -> str:
    """The input as a workflow spells it: ``max-prs``, ``config-dir``."""
    if setting == "auto_merge":
        return "auto-merge-reverts"
    return "config-dir" if setting == "config_dirs" else setting.replace("_", "-")


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Every credential set in ``environ``: the variables above, and the query-string
    values of the Loki URL that could be a token (``LokiConfig.secrets``)."""
    found = [environ[name] for name in SECRET_VARIABLES if environ.get(name, "").strip()]
    # a Loki setting that does not fit fails later, named, where the source is opened
    with contextlib.suppress(MicroGastownError):
        found.extend(LokiConfig.from_env(environ).secrets)
    return tuple(dict.fromkeys(found))


class ActionInputError(UsageError):
    """Inputs that do not fit, every one of them: ``problems`` holds a line per input."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ActionSettings(BaseModel):
    """What one run of the Action does, from its inputs and the runner's variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: ActionCommand
    until: str | None = None
    since: str | None = None
    """Checked after ``until`` so that an empty window is reported as a ``since`` error."""
    selector: str = DEFAULT_SELECTOR
    dry_run: bool = False
    llm: bool = False
    budget_usd: float | None = Field(None, ge=0, le=MAX_BUDGET_USD, allow_inf_nan=False)
    max_prs: int | None = Field(None, ge=0)
    config_dirs: tuple[Path, ...] = ()
    source: str = "loki"
    repo: Path = Path(".")
    runs_dir: Path
    backend: str = "anthropic"
    replay: Path | None = Field(None, validate_default=True)
    watch_days: int | None = Field(None, ge=1, le=30)
    """rollback-check: days a merged PR is watched (None: MICRO_GASTOWN_WATCH_DAYS or 7)."""
    deploy_lag: str | None = None
    """rollback-check: merge to deploy, left out of the after window (``1h``)."""
    auto_merge: bool = False
    """rollback-check: merge a revert PR as soon as it is open."""
    pull_request: int | None = Field(None, ge=1)
    """rollback-check: judge this merged PR only (the ``pull_request: closed`` event's)."""
    report_path: Path
    """Where ``analyze`` writes its report: ``$RUNNER_TEMP/micro-gastown/report.json``."""
    output_file: Path | None = None
    """``GITHUB_OUTPUT``; None on a local run, where outputs are printed instead."""
    summary_file: Path | None = None
    """``GITHUB_STEP_SUMMARY``; None on a local run, where the summary is printed."""
    secrets: tuple[SecretStr, ...] = Field(default=(), repr=False, exclude=True)

    @field_validator("until")
    @classmethod
    def _instant(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _parsed(value, str(info.field_name))
        return value

    @field_validator("since")
    @classmethod
    def _window(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        _parsed(value, "since")
        until = info.data.get("until")
        if until is not None:
            try:
                window_from_flags(value, until)
            except UsageError as exc:
                raise ValueError(
                    f"not before until {until!r}: the window would be empty"
                    if exc.setting == "since"
                    else exc.reason
                ) from None
        return value

    @field_validator("deploy_lag")
    @classmethod
    def _lag(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)  # its ValueError says what a duration looks like
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        scheme, colon, rest = value.partition(":")
        if value == "loki" or (colon and scheme in ("loki", "file") and rest):
            return value
        raise ValueError("expected loki, loki:URL or file:PATH")

    @field_validator("repo", "runs_dir")
    @classmethod
    def _directory(cls, value: Path, info: ValidationInfo) -> Path:
        if info.field_name == "repo" and not value.is_dir():
            raise ValueError("no such directory")
        if info.field_name == "runs_dir" and value.exists() and not value.is_dir():
            raise ValueError("not a directory")
        return value

    @field_validator("config_dirs")
    @classmethod
    def _config_dirs(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        missing = [repr(str(path)) for path in value if not path.is_dir()]  # quoted, escaped
        if missing:
            raise ValueError(f"no such directory: {', '.join(missing)}")
        return value

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"expected one of {', '.join(BACKENDS)}")
        return value

    @field_validator("replay")
    @classmethod
    def _replay(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        backend = info.data.get("backend")
        if backend is not None:
            try:
                BackendChoice(name=backend, replay=value)
            except UsageError as exc:
                raise ValueError(exc.reason) from None
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    def backend_choice(self) -> BackendChoice:
        """The model backend, files absolute so that the run's steps find them."""
        replay = self.replay.absolute() if self.replay is not None else None
        return BackendChoice(name=self.backend, replay=replay)

    def secret_values(self) -> tuple[str, ...]:
        return tuple(secret.get_secret_value() for secret in self.secrets)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionSettings:
        """The settings in ``environ``; an input set to blanks counts as not set (the
        runner passes an input a workflow left out as an empty string). Raises
        :class:`ActionInputError` naming every input that does not fit."""
        raw: dict[str, Any] = {}
        for setting, variable in INPUT_VARIABLES.items():
            value = environ.get(variable, "").strip()
            if value:
                raw[setting] = value
        if "config_dirs" in raw:
            lines = (line.strip() for line in str(raw["config_dirs"]).splitlines())
            raw["config_dirs"] = tuple(Path(line) for line in lines if line)
        runner_temp = environ.get("RUNNER_TEMP", "").strip()
        if "runs_dir" not in raw:
            raw["runs_dir"] = (
                Path(runner_temp) / "micro-gastown-runs"
                if runner_temp
                else Path(".micro-gastown") / "runs"
            )
        runs_dir = Path(raw["runs_dir"])
        raw["report_path"] = (
            Path(runner_temp) / "micro-gastown" / "report.json"
            if runner_temp
            else runs_dir / "report.json"
        )
        for setting, variable in (
            ("output_file", "GITHUB_OUTPUT"),
            ("summary_file", "GITHUB_STEP_SUMMARY"),
        ):
            if environ.get(variable, "").strip():
                raw[setting] = Path(environ[variable])
        raw["secrets"] = tuple(SecretStr(value) for value in secret_values(environ))
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ActionInputError(_problems(exc, raw)) from None


def _parsed(value: str, setting: str) -> None:
    try:
        parse_instant(value, setting=setting, now=datetime.now(UTC))
    except UsageError as exc:
        raise ValueError(exc.reason) from None


_WORDING: Final[Mapping[str, str]] = {
    "missing": "required: one of evolve, analyze, rollback-check",
    "enum": "expected one of evolve, analyze, rollback-check",
    "bool_parsing": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected dollars, e.g. 0.50",
    "finite_number": "expected dollars, e.g. 0.50",
    "greater_than_equal": "expected {ge} or more",
    "less_than_equal": f"expected at most {MAX_BUDGET_USD:,}",
}


def _problems(exc: ValidationError, raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A line per input that does not fit: ``max-prs '-1': expected 0 or more``."""
    problems = []
    for error in exc.errors():
        setting = str(error["loc"][0]) if error["loc"] else "inputs"
        template = _WORDING.get(error["type"])
        why = (
            template.format(**error.get("ctx", {}))
            if template is not None
            else str(error["msg"]).removeprefix("Value error, ")
        )
        value = raw.get(setting)
        if isinstance(value, tuple):
            value = "\n".join(map(str, value))
        shown = "" if value is None else f" {str(value)!r}"
        problems.append(f"{_input_name(setting)}{shown}: {why}")
    return tuple(problems)

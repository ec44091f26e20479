"""The analyzer's settings, resolved in one place: flag > environment > polecat file > default.

Every face hands over what its user gave (the CLI its flags, the engine a step's inputs);
:func:`resolve_analyzer_settings` layers the environment (``MICRO_GASTOWN_JOBS``,
``MICRO_GASTOWN_THRESHOLDS__MIN_OCCURRENCES``, ``GRAFANA_URL``, ...) and the
log-analyzer polecat's ``[thresholds]`` beneath them, with pydantic-settings doing the
layering. A value that does not fit is a :class:`SettingError` naming the setting and
where the value came from, so each face can word it in its own terms (a flag, a variable,
a file and key).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from micro_gastown.config.polecat import Polecat
from micro_gastown.detectors import DETECTOR_NAMES
from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.thresholds import Thresholds

ENV_PREFIX = "MICRO_GASTOWN_"
Origin = Literal["given", "environment", "polecat", "default"]
Pushdown = Literal["auto", "on", "off"]


class SettingError(UsageError):
    """A setting that does not fit, with where its value came from.

    ``key`` is the dotted setting name (``jobs``, ``thresholds.min_occurrences``);
    ``origin`` says who gave the value: the caller (``given``), the ``environment``
    (``variable`` names it) or the ``polecat`` file (``path``). A value the caller gave
    carries the base class's ``setting`` (``min_occurrences``) and ``value``, so a face
    words it as it words any other setting (the CLI: ``--min-occurrences 0: ...``).
    """

    def __init__(
        self,
        setting: str,
        origin: Origin,
        why: str,
        *,
        value: object = None,
        variable: str | None = None,
        path: Path | None = None,
    ) -> None:
        self.key, self.origin, self.why = setting, origin, why
        self.variable, self.path = variable, path
        if origin == "given" and setting != "thresholds":
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
            super().__init__(why, setting=setting.rpartition(".")[2], value=shown)
        else:
            super().__init__(self._wording(value))
        if origin == "polecat":
            self.exit_code = ConfigError.exit_code

    def _wording(self, value: object) -> str:
        if self.origin == "environment":
            return f"{self.variable}={value!r}: {self.why}"
        if self.origin == "polecat":
            table, _, key = self.key.partition(".")
            return f"{self.path}: [{table}] {key + ': ' if key else ''}{self.why}"
        return f"{self.key}: {self.why}"  # a check across the given thresholds


class AnalyzerSettings(BaseSettings):
    """What the Log Analyzer runs with, whoever asked for it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    thresholds: Thresholds = Field(default_factory=Thresholds)
    jobs: int | None = Field(None, ge=1)
    """Processes for a large plain export; None: the CPUs this process may use."""
    max_lines: int | None = Field(None, ge=1)
    detectors: tuple[str, ...] | None = None
    pushdown: Pushdown = "auto"
    grafana_url: str | None = Field(
        None, validation_alias=AliasChoices("grafana_url", "GRAFANA_URL")
    )
    grafana_datasource: str | None = Field(
        None,
        validation_alias=AliasChoices("grafana_datasource", "GRAFANA_LOKI_DATASOURCE_UID"),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _PolecatSource(settings_cls)

    def usable_jobs(self) -> int:
        if self.jobs is not None:
            return self.jobs
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


_POLECAT: ContextVar[Polecat | None] = ContextVar("analyzer_polecat", default=None)
_POLECAT_PATH: ContextVar[Path | None] = ContextVar("analyzer_polecat_path", default=None)


class _PolecatSource(PydanticBaseSettingsSource):
    """The ``[thresholds]`` the polecat file sets (only the keys it sets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole table is given by __call__

    def __call__(self) -> dict[str, Any]:
        polecat = _POLECAT.get()
        if polecat is None or polecat.thresholds is None:
            return {}
        return {"thresholds": polecat.thresholds.model_dump(exclude_unset=True)}


@contextmanager
def _polecat_in_scope(polecat: Polecat | None, path: Path | None) -> Iterator[None]:
    tokens = (_POLECAT.set(polecat), _POLECAT_PATH.set(path))
    try:
        yield
    finally:
        _POLECAT.reset(tokens[0])
        _POLECAT_PATH.reset(tokens[1])


def resolve_analyzer_settings(
    given: Mapping[str, Any],
    polecat: Polecat | None = None,
    polecat_path: Path | None = None,
) -> AnalyzerSettings:
    """``given`` (None values mean "not given"; ``thresholds`` a partial table) over the
    environment over ``polecat``'s ``[thresholds]`` over the defaults."""
    values = {key: value for key, value in given.items() if value is not None}
    if "thresholds" in values:
        values["thresholds"] = {k: v for k, v in values["thresholds"].items() if v is not None}
        if not values["thresholds"]:
            del values["thresholds"]
    if values.get("detectors") is not None:
        _check_detectors(values["detectors"])
    with _polecat_in_scope(polecat, polecat_path):
        try:
            return AnalyzerSettings(**values)
        except ValidationError as exc:
            raise _attributed(exc, values, polecat, polecat_path) from None


def _check_detectors(names: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in DETECTOR_NAMES]
    if unknown or not names:
        raise SettingError(
            "detectors",
            "given",
            f"expected some of {', '.join(DETECTOR_NAMES)}",
            value=",".join(names),
        )


def _attributed(
    exc: ValidationError,
    given: Mapping[str, Any],
    polecat: Polecat | None,
    path: Path | None,
) -> SettingError:
    """The first problem, with the source that supplied the value it is about."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    why = _why(error)
    head = loc[0] if loc else "thresholds"
    given_table = given.get("thresholds")
    given_keys = (
        list(given_table) if head == "thresholds" and isinstance(given_table, Mapping) else []
    )
    if head == "thresholds" and len(loc) == 1:
        # a check across keys (warning above critical): whoever set one of them
        if given_keys:
            return SettingError("thresholds", "given", why, value=given_table)
        variable = _environment_variable("thresholds", "")
        if variable is None:
            variable = next(iter(_threshold_variables()), None)
        if variable is not None:
            return SettingError(
                "thresholds", "environment", why, value=os.environ[variable], variable=variable
            )
        return SettingError("thresholds", "polecat", why, path=path)
    setting = ".".join(loc)
    key = loc[1] if head == "thresholds" and len(loc) > 1 else ""
    if (head == "thresholds" and key in given_keys) or (head != "thresholds" and head in given):
        value = given_table[key] if key and isinstance(given_table, Mapping) else given.get(head)
        return SettingError(setting, "given", why, value=value)
    variable = _environment_variable(head, key)
    if variable is not None:
        return SettingError(
            setting, "environment", why, value=os.environ[variable], variable=variable
        )
    if polecat is not None and polecat.thresholds is not None:
        return SettingError(setting, "polecat", why, path=path)
    return SettingError(setting, "given", why, value=given.get(head))


_WORDING: dict[str, str] = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "greater_than_equal": "expected {ge} or more",
    "greater_than": "expected more than {gt}",
    "less_than_equal": "expected {le} or less",
    "literal_error": "expected {expected}",
}


def _why(error: Any) -> str:
    """pydantic's complaint in the words the rest of micro-gastown uses."""
    template = _WORDING.get(error["type"])
    if template is not None:
        try:
            return template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            pass
    return str(error["msg"]).removeprefix("Value error, ")


def _threshold_variables() -> list[str]:
    prefix = f"{ENV_PREFIX}THRESHOLDS__"
    return [name for name in os.environ if name.upper().startswith(prefix)]


def _environment_variable(head: str, key: str) -> str | None:
    """The environment variable that set ``head`` (``key`` within it), if one did."""
    names = {
        "grafana_url": ("GRAFANA_URL",),
        "grafana_datasource": ("GRAFANA_LOKI_DATASOURCE_UID",),
    }.get(head, (f"{ENV_PREFIX}{head.upper()}" + (f"__{key.upper()}" if key else ""),))
    upper = {name.upper(): name for name in os.environ}
    for name in names:
        if name.upper() in upper:
            return upper[name.upper()]
    return None


__all__ = [
    "ENV_PREFIX",
    "AnalyzerSettings",
    "SettingError",
    "resolve_analyzer_settings",
]

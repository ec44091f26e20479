"""Polecats (``polecats/<name>.toml``): an agent's model, prompt, tools, output and limits.

The format is upstream Gas Town's. Every table is a strict pydantic model: an unknown key,
a wrong type, a tool not in :data:`~micro_gastown.llm.tool_names.TOOL_NAMES` or an output
schema not under ``schemas/`` is a problem naming the file, the table and the key. Both
forms of the system prompt are accepted (``[prompt.system] content = ...`` and the older
``[prompt] system = "..."``) and read the same: :attr:`Polecat.system_prompt`.

``[thresholds]`` is :class:`micro_gastown.thresholds.Thresholds` itself, and
:func:`load_thresholds` reads it through :func:`load_polecat`, so the file ``analyze``
reads and the file ``validate`` checks cannot disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from micro_gastown.bundled import bundled_polecat, bundled_root
from micro_gastown.config.layout import SCHEMAS_DIR, References, references_of
from micro_gastown.config.problems import (
    Problem,
    custom_error,
    problems_error,
    read_toml,
    validation_problems,
)
from micro_gastown.config.schemas import schema_names
from micro_gastown.errors import ModelPolicyError
from micro_gastown.llm.models import resolve_model
from micro_gastown.llm.tool_names import TOOL_NAMES
from micro_gastown.thresholds import Thresholds
from micro_gastown.timewindow import parse_duration

ALWAYS_FORBIDDEN: Final = (".github/**",)
"""Paths no change may touch whatever a polecat says: always ``.github/`` (CI lives there)."""

Role = Literal["observer", "modifier", "committer"]
OutputFormat = Literal["json", "diff"]
Trigger = Literal["manual", "hourly", "daily"]

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class Table(BaseModel):
    """A TOML table: unknown keys are errors, values are never coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _known_tool(name: str) -> str:
    if name not in TOOL_NAMES:
        raise custom_error(f"unknown tool {name!r} (known: {', '.join(sorted(TOOL_NAMES))})")
    return name


def known_schema(name: str, info: ValidationInfo) -> str:
    refs = references_of(info)
    if refs is not None and name not in refs.schemas:
        known = ", ".join(sorted(refs.schemas)) or "none"
        raise custom_error(f"unknown schema {name!r} (schemas/ has: {known})")
    return name


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise custom_error(str(exc)) from None
    return text


ToolName = Annotated[str, AfterValidator(_known_tool)]
SchemaName = Annotated[str, AfterValidator(known_schema)]
Duration = Annotated[str, AfterValidator(_duration)]
Glob = Annotated[str, Field(min_length=1)]


class PolecatInfo(Table):
    name: str = Field(pattern=NAME_PATTERN)
    description: str
    role: Role


class ModelSettings(Table):
    """Which model answers. A name the price table does not know is a load error (no call
    could be priced); the Haiku-only policy itself is enforced when a call is made, so a
    user may still run another model with ``--allow-non-haiku``."""

    provider: Literal["anthropic"]
    name: str = Field(min_length=1)
    max_tokens: int = Field(4096, ge=1)
    temperature: float = Field(0.0, ge=0, le=1)

    @field_validator("name")
    @classmethod
    def _priced(cls, name: str) -> str:
        try:
            resolve_model(name, allow_non_haiku=True)
        except ModelPolicyError as exc:
            raise custom_error(str(exc)) from None
        return name


class SystemPrompt(Table):
    content: str = Field(min_length=1)


class Prompt(Table):
    system: SystemPrompt

    @field_validator("system", mode="before")
    @classmethod
    def _older_form(cls, value: Any) -> Any:
        """``[prompt] system = "..."`` is the older spelling of ``[prompt.system] content``."""
        return {"content": value} if isinstance(value, str) else value


class Tools(Table):
    available: list[ToolName] = Field(default_factory=list)

    @field_validator("available")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise custom_error(f"listed more than once: {', '.join(repeated)}")
        return names


class Output(Table):
    format: OutputFormat
    schema_name: SchemaName | None = Field(None, alias="schema")
    include_rationale: bool = False
    include_metrics: bool = False
    fields: list[str] = Field(default_factory=list)


class Schedule(Table):
    trigger: Trigger = "manual"
    lookback: Duration = "24h"


class Guardrails(Table):
    """Limits on one proposed change. ``forbidden_paths`` are globs relative to the checkout
    root (``**`` spans directories); :data:`ALWAYS_FORBIDDEN` applies on top of them."""

    max_files_changed: int = Field(5, ge=1)
    max_lines_changed: int = Field(200, ge=1)
    require_pattern_link: bool = True
    forbidden_paths: list[Glob] = Field(default_factory=list)

    @property
    def all_forbidden_paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*ALWAYS_FORBIDDEN, *self.forbidden_paths)))


class ValidationPolicy(Table):
    """What must pass before a change is proposed (typecheck: ``cabal build``)."""

    require_typecheck: bool = True
    require_tests: bool = True


class Git(Table):
    base_branch: str = Field("main", min_length=1)
    branch_prefix: str = Field("sleeptime/", min_length=1)
    commit_footer: str = ""


class PullRequest(Table):
    labels: list[str] = Field(default_factory=lambda: ["sleeptime", "auto-generated"])
    assignees: list[str] = Field(default_factory=list)
    reviewers: list[str] = Field(default_factory=list)
    """Logins asked to review each PR we open (none by default)."""
    draft: bool = True


class Polecat(Table):
    """One polecat file. Role tables are optional in the model; :func:`load_polecat` requires
    ``[guardrails]`` of a modifier and ``[git]`` + ``[pr]`` of a committer."""

    polecat: PolecatInfo
    model: ModelSettings
    prompt: Prompt
    tools: Tools = Field(default_factory=Tools)
    output: Output
    thresholds: Thresholds | None = None
    schedule: Schedule | None = None
    guardrails: Guardrails | None = None
    validation: ValidationPolicy | None = None
    git: Git | None = None
    pr: PullRequest | None = None

    @property
    def name(self) -> str:
        return self.polecat.name

    @property
    def system_prompt(self) -> str:
        return self.prompt.system.content


_ROLE_TABLES: dict[str, tuple[str, ...]] = {
    "observer": (),
    "modifier": ("guardrails",),
    "committer": ("git", "pr"),
}


def check_polecat(
    path: Path, document: dict[str, Any], refs: References[Any]
) -> tuple[Polecat | None, list[Problem]]:
    """Validate a parsed polecat file against the names it may refer to."""
    try:
        polecat = Polecat.model_validate(document, strict=True, context={"refs": refs})
    except ValidationError as exc:
        return None, validation_problems(path, exc)
    problems: list[Problem] = []
    if polecat.name != path.stem:
        problems.append(
            Problem(
                path, "polecat.name", f"{polecat.name!r} should match the file name {path.stem!r}"
            )
        )
    if polecat.output.format == "json" and polecat.output.schema_name is None:
        problems.append(
            Problem(path, "output.schema", "format 'json' needs a schema (a name under schemas/)")
        )
    role = polecat.polecat.role
    for table in _ROLE_TABLES[role]:
        if getattr(polecat, table) is None:
            problems.append(Problem(path, table, f"a {role} polecat needs a [{table}] table"))
    return (None if problems else polecat), problems


def load_polecat(path: Path, schemas_dir: Path | None = None) -> Polecat:
    """Load and check one polecat; output schemas are looked up in ``schemas_dir`` (default:
    the repository's ``schemas/``). Raises ConfigError naming every problem."""
    folder = schemas_dir if schemas_dir is not None else bundled_root() / SCHEMAS_DIR
    document, problems = read_toml(path)
    if document is not None:
        polecat, problems = check_polecat(path, document, References(schemas=schema_names(folder)))
        if polecat is not None:
            return polecat
    raise problems_error(problems)


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The ``[thresholds]`` of a log-analyzer polecat (default: the shipped one), read by
    :func:`load_polecat` like every other polecat, so a file ``validate`` refuses is never
    half-used; a polecat without the table means the built-in values."""
    polecat = load_polecat(path if path is not None else bundled_polecat("log-analyzer"))
    return polecat.thresholds if polecat.thresholds is not None else Thresholds()

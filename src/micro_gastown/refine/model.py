"""The plain values that cross the refine pipeline: an edit the model proposed, why one
was refused, the diff code wrote, and what validation found.

They sit apart so the pieces (guardrails, edit application, the worktree, the checks) and
the application layer agree on one shape, and so a rejected edit or a failed check is a
typed record with a stable code, never a message to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from micro_gastown.report.changes import CheckOutcome

__all__ = [
    "CheckOutcome",
    "CheckResult",
    "Edit",
    "EditFailure",
    "EditFailureCode",
    "FileDiff",
    "Rejection",
    "RuleCode",
]


@dataclass(frozen=True, slots=True)
class Edit:
    """One change the model proposed: replace ``old_text``, which must occur exactly once in
    the file at ``path`` (relative to the checkout root, as the model wrote it), by
    ``new_text``. ``pattern_ids`` are the report's pattern ids the edit cites."""

    path: str
    old_text: str
    new_text: str
    rationale: str
    pattern_ids: tuple[str, ...]


class RuleCode(StrEnum):
    """Which guardrail an edit or a whole change broke (stable: tests and the output use it)."""

    ABSOLUTE_PATH = "absolute_path"
    """The path is absolute (``/etc/passwd``, ``C:\\x``, ``\\\\server\\share``)."""
    PARENT_REFERENCE = "parent_reference"
    """The path has a ``..`` part, or normalises to outside the checkout."""
    INVALID_PATH = "invalid_path"
    """Empty, a NUL or control character, a backslash, ``.git`` inside it, or not UTF-8."""
    SYMLINK_ESCAPE = "symlink_escape"
    """The path, or a directory on the way, is a symlink (inside or outside the checkout)."""
    CASE_ALIAS = "case_alias"
    """The path differs only in letter case (or Unicode form) from a file that exists, or
    names a protected path in another case."""
    NOT_A_FILE = "not_a_file"
    """The path does not name an existing regular file (new files, FIFOs, devices, dirs)."""
    FORBIDDEN_PATH = "forbidden_path"
    """The path matches a forbidden glob (the polecat's, the formula's, or the built-in
    ``.github/**``, build, lock and secret-looking files)."""
    NOT_IN_CONTEXT = "not_in_context"
    """The file was not among those chosen for this finding, so the finding does not
    justify changing it."""
    NO_PATTERN_LINK = "no_pattern_link"
    """The edit cites no pattern id of the report (``require_pattern_link``)."""
    UNKNOWN_PATTERN = "unknown_pattern"
    """The edit cites a pattern id the report does not hold, or one not being refined."""
    SECRET_IN_CHANGE = "secret_in_change"
    """The new text holds something the redaction rules call a secret."""
    TOO_MANY_FILES = "too_many_files"
    """The change touches more files than ``max_files_changed`` allows."""
    TOO_MANY_LINES = "too_many_lines"
    """The change adds and removes more lines than ``max_lines_changed`` allows."""
    NOT_UTF8 = "not_utf8"
    """The file to change is not UTF-8 text."""
    UNSAFE_CODE = "unsafe_code"
    """The new Haskell text adds something that runs code while the checkout is built or
    reaches outside it (a Template Haskell splice, ``runIO``, ``unsafePerformIO``, a
    ``foreign import``, an import of a process, network or file-system module): validation
    compiles the change, so the change must not be able to act during the build."""
    HIDDEN_CHARACTERS = "hidden_characters"
    """The new text adds control, bidirectional or invisible characters the old text did
    not have: text that reads differently than it compiles or renders ("Trojan Source")."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a proposed edit (``path`` set) or the whole change (``path`` None) was refused.
    ``detail`` is one plain sentence, safe to print (no text from the model unescaped)."""

    rule: RuleCode
    path: str | None
    detail: str


class EditFailureCode(StrEnum):
    """Why an edit could not be applied to the file's text."""

    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"
    """``old_text`` occurs more than once."""
    EMPTY_OLD_TEXT = "empty_old_text"
    NO_CHANGE = "no_change"
    """``new_text`` equals ``old_text``."""
    OVERLAP = "overlap"
    """Another edit of the same file already changed this text."""


@dataclass(frozen=True, slots=True)
class EditFailure:
    """An edit whose old text could not be placed; ``detail`` is what the model is told."""

    edit: Edit
    code: EditFailureCode
    detail: str


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file's unified diff (``--- a/path`` / ``+++ b/path`` and hunks), written by code."""

    path: str
    diff: str
    lines_added: int
    lines_removed: int


# CheckOutcome (passed, failed, not_run) is the output schema's own enum: NOT_RUN means a
# check could not run (the tool is missing, a timeout, an earlier check failed), never a pass.


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One validation check: the static check, or one ``must_pass`` command.

    ``name`` is ``static`` or the command as configured; ``output`` the tail of what it
    printed (or the checker's messages); ``reason`` why it did not run or failed, in one
    line; ``duration_s`` wall time."""

    name: str
    outcome: CheckOutcome
    output: str = ""
    reason: str = ""
    duration_s: float = 0.0
    messages: tuple[str, ...] = field(default_factory=tuple)
    """The checker's own findings, one per problem (static check), for the output."""

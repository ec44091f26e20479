"""The guardrails of one proposed change, enforced in code whatever the model answers.

Every edit is checked on its own (:func:`check_edit`): its path (see
:mod:`~micro_gastown.refine.paths`), the forbidden globs, whether the finding justifies
the file, which pattern ids it cites, and what its new text adds (a secret, hidden
characters, Haskell that acts while it is built). The applied change as a whole is then
checked against the size limits (:func:`check_change`). A change that breaks a rule is
refused with every rule it broke; nothing is ever trimmed to fit, because a partial
change is one nobody proposed.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from micro_gastown.config.polecat import ALWAYS_FORBIDDEN
from micro_gastown.config.polecat import Guardrails as PolecatGuardrails
from micro_gastown.evidence.redact import default_redactor
from micro_gastown.evidence.sanitize import neutralize_text
from micro_gastown.evidence.secret_rules import Rule, default_rules
from micro_gastown.refine.globs import ForbiddenGlobs
from micro_gastown.refine.model import Edit, FileDiff, Rejection, RuleCode
from micro_gastown.refine.paths import checkout_path, lexical_path, printable
from micro_gastown.refine.unsafe_haskell import added_unsafe_constructs, is_haskell

__all__ = ["BUILT_IN_FORBIDDEN", "Guardrails", "check_change", "check_edit"]

BUILT_IN_FORBIDDEN: Final = (
    # CI, deployment and git's own files: a change there acts outside the DSL.
    ".github/**",
    ".git/**",
    ".circleci/**",
    ".gitlab-ci.yml",
    "deploy/**",
    "Dockerfile",
    ".gitattributes",
    ".gitmodules",
    ".gitignore",
    # Build files: they decide what the build runs (and validation runs the build).
    "**/*.cabal",
    "cabal.project*",
    "stack.yaml",
    "package.yaml",
    "Setup.hs",
    "Makefile",
    "**/*.nix",
    "*.freeze",
    # Tests and vendored code: a change there could make the validation pass by itself.
    "test/**",
    "tests/**",
    "**/test/**",
    "**/tests/**",
    "vendor/**",
    "**/vendor/**",
    # Lock files.
    "**/*.lock",
    "**/*-lock.*",
    # Files that look like they hold secrets.
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "*secret*",
    "*credential*",
    "*password*",
    "*.token",
    "*token*.json",
    "*token*.txt",
    "*token*.yaml",
    "*token*.yml",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.kdbx",
)
"""Forbidden whatever the polecat or the formula say, on top of ``ALWAYS_FORBIDDEN``."""

_MARKER: Final = re.compile(r"\[REDACTED:([a-z0-9-]+)\]")


@dataclass(frozen=True, slots=True)
class Guardrails:
    """The limits of one proposed change. Build it with :meth:`of`, which always adds the
    built-in forbidden globs; an invalid glob is a ConfigError when it is built."""

    max_files: int
    max_lines: int
    forbidden: tuple[str, ...]
    require_pattern_link: bool = True
    _globs: ForbiddenGlobs = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_globs", ForbiddenGlobs.of(self.forbidden))

    @classmethod
    def of(
        cls, polecat_guardrails: PolecatGuardrails, extra_forbidden: Sequence[str] = ()
    ) -> Guardrails:
        """The polecat's ``[guardrails]``, the formula's extra forbidden globs, and ours."""
        globs = (
            *ALWAYS_FORBIDDEN,
            *BUILT_IN_FORBIDDEN,
            *polecat_guardrails.all_forbidden_paths,
            *extra_forbidden,
        )
        return cls(
            max_files=polecat_guardrails.max_files_changed,
            max_lines=polecat_guardrails.max_lines_changed,
            forbidden=tuple(dict.fromkeys(globs)),
            require_pattern_link=polecat_guardrails.require_pattern_link,
        )

    def tightened(self, other: PolecatGuardrails) -> Guardrails:
        """The stricter of these and another ``[guardrails]`` table (a formula's narrows
        its polecat's): the lower limits, every forbidden glob, a pattern link if either
        asks for one."""
        return Guardrails(
            max_files=min(self.max_files, other.max_files_changed),
            max_lines=min(self.max_lines, other.max_lines_changed),
            forbidden=tuple(dict.fromkeys((*self.forbidden, *other.all_forbidden_paths))),
            require_pattern_link=self.require_pattern_link or other.require_pattern_link,
        )

    def check_change(self, diffs: Sequence[FileDiff]) -> list[Rejection]:
        """:func:`check_change` with these guardrails."""
        return check_change(diffs, self)

    def forbidding_glob(self, path: str) -> str | None:
        """The first forbidden glob that matches ``path`` (relative, POSIX), or None."""
        return self._globs.first_match(path)


def check_edit(
    edit: Edit,
    *,
    root: Path,
    allowed_paths: frozenset[str],
    report_pattern_ids: frozenset[str],
    refined_pattern_ids: frozenset[str],
    guardrails: Guardrails,
) -> tuple[str | None, list[Rejection]]:
    """The edit's normalised path (None when the path itself is refused) and every rule
    the edit breaks; an empty list means the edit may be applied.

    ``root`` is the checkout the path is resolved in (the worktree's checkout directory,
    so the file checked is the file changed); ``allowed_paths`` the normalised paths chosen
    as context for the finding; ``report_pattern_ids`` every pattern id of the report and
    ``refined_pattern_ids`` those being refined now."""
    rejections: list[Rejection] = []
    lexical = lexical_path(edit.path)
    checked: str | None = None
    if isinstance(lexical, Rejection):
        rejections.append(lexical)
        shown = lexical.path
        forbidden_candidate = _best_effort(edit.path)
    else:
        shown = printable(lexical)
        forbidden_candidate = lexical
        located = checkout_path(root, edit.path)
        if isinstance(located, Rejection):
            rejections.append(located)
        else:
            checked = located
    glob = guardrails.forbidding_glob(forbidden_candidate) if forbidden_candidate else None
    if glob is not None:
        rejections.append(
            Rejection(
                RuleCode.FORBIDDEN_PATH,
                shown,
                f"{shown} matches the forbidden path glob {printable(glob)}",
            )
        )
    if not isinstance(lexical, Rejection) and lexical not in allowed_paths:
        rejections.append(
            Rejection(
                RuleCode.NOT_IN_CONTEXT,
                shown,
                f"{shown} was not among the files chosen for this finding",
            )
        )
    rejections += _pattern_rules(edit, shown, guardrails, report_pattern_ids, refined_pattern_ids)
    rejections += _text_rules(edit, shown, lexical if isinstance(lexical, str) else edit.path)
    if checked is not None:
        rejections += _encoding_rule(root, checked, shown)
    return checked, rejections


def check_change(diffs: Sequence[FileDiff], guardrails: Guardrails) -> list[Rejection]:
    """The size rules of the whole change: files touched and lines added plus removed."""
    rejections: list[Rejection] = []
    files = len({diff.path for diff in diffs})
    if files > guardrails.max_files:
        rejections.append(
            Rejection(
                RuleCode.TOO_MANY_FILES,
                None,
                f"the change touches {files} files; at most {guardrails.max_files} are allowed",
            )
        )
    lines = sum(diff.lines_added + diff.lines_removed for diff in diffs)
    if lines > guardrails.max_lines:
        rejections.append(
            Rejection(
                RuleCode.TOO_MANY_LINES,
                None,
                f"the change adds and removes {lines} lines; at most "
                f"{guardrails.max_lines} are allowed",
            )
        )
    return rejections


def _best_effort(raw: str) -> str:
    """A refused path as a forbidden glob would still read it (``.github\\x``), so the
    output can say that it was forbidden as well as malformed."""
    cleaned = neutralize_text(raw).replace("\\", "/")
    parts = [part for part in cleaned.split("/") if part not in ("", ".", "..")]
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    return "/".join(parts)


def _pattern_rules(
    edit: Edit,
    shown: str | None,
    guardrails: Guardrails,
    report_ids: frozenset[str],
    refined_ids: frozenset[str],
) -> list[Rejection]:
    cited = [pattern_id for pattern_id in edit.pattern_ids if pattern_id.strip()]
    rejections: list[Rejection] = []
    if guardrails.require_pattern_link and not cited:
        rejections.append(
            Rejection(RuleCode.NO_PATTERN_LINK, shown, "the edit cites no pattern id of the report")
        )
    for pattern_id in dict.fromkeys(cited):
        if pattern_id not in report_ids:
            why = "the report holds no such pattern"
        elif pattern_id not in refined_ids:
            why = "that pattern is not being refined now"
        else:
            continue
        rejections.append(
            Rejection(
                RuleCode.UNKNOWN_PATTERN,
                shown,
                f"the edit cites pattern id {printable(pattern_id)}: {why}",
            )
        )
    return rejections


def _text_rules(edit: Edit, shown: str | None, path: str) -> list[Rejection]:
    rejections: list[Rejection] = []
    secrets = added_secret_kinds(edit.old_text, edit.new_text)
    if secrets:
        rejections.append(
            Rejection(
                RuleCode.SECRET_IN_CHANGE,
                shown,
                f"the new text adds what looks like a secret ({', '.join(secrets)})",
            )
        )
    hidden = added_hidden_characters(edit.old_text, edit.new_text)
    if hidden:
        rejections.append(
            Rejection(
                RuleCode.HIDDEN_CHARACTERS,
                shown,
                f"the new text adds hidden characters ({', '.join(hidden)})",
            )
        )
    if is_haskell(path.casefold()):
        constructs = added_unsafe_constructs(edit.old_text, edit.new_text)
        if constructs:
            rejections.append(
                Rejection(
                    RuleCode.UNSAFE_CODE,
                    shown,
                    f"the new Haskell adds {'; '.join(constructs)}",
                )
            )
    return rejections


def added_secret_kinds(old_text: str, new_text: str) -> list[str]:
    """The kinds of secret ``new_text`` holds that ``old_text`` did not (sorted).

    Two views, so neither the redactor's length cut nor a secret swapped for another of
    the same kind slips through: every secret string the rules find in the whole text
    (one more copy in the new text than in the old counts as new), and the redaction
    markers of :func:`~micro_gastown.evidence.redact.default_redactor` by kind."""
    kinds: set[str] = set()
    old_found, new_found = _secrets(old_text), _secrets(new_text)
    for (secret, kind), count in new_found.items():
        if count > old_found[(secret, kind)]:
            kinds.add(kind)
    redactor = default_redactor()
    old_markers = Counter(_MARKER.findall(redactor.redact_text(old_text)))
    new_markers = Counter(_MARKER.findall(redactor.redact_text(new_text)))
    kinds.update(kind for kind, count in new_markers.items() if count > old_markers[kind])
    return sorted(kinds)


@functools.cache
def _rules() -> tuple[Rule, ...]:
    return default_rules()


def _secrets(text: str) -> Counter[tuple[str, str]]:
    body = neutralize_text(text)
    found: Counter[tuple[str, str]] = Counter()
    for rule in _rules():
        for span in rule.find(body):
            secret = body[span.start : span.end].strip()
            if secret and not _MARKER.fullmatch(secret):
                found[(secret, span.kind)] += 1
    return found


def added_hidden_characters(old_text: str, new_text: str) -> list[str]:
    """Code points of hidden characters (controls other than tab and line ends, bidi and
    other format characters, zero-width and invisible ones, a lone carriage return) that
    ``new_text`` holds more often than ``old_text``, as ``U+XXXX``."""
    before, after = _hidden(old_text), _hidden(new_text)
    return [f"U+{ord(ch):04X}" for ch, count in sorted(after.items()) if count > before[ch]]


def _hidden(text: str) -> Counter[str]:
    found: Counter[str] = Counter(
        ch for ch in text if ch not in "\r\n\t" and not neutralize_text(ch)
    )
    lone_returns = text.count("\r") - text.count("\r\n")
    if lone_returns:
        found["\r"] = lone_returns
    return found


def _encoding_rule(root: Path, path: str, shown: str | None) -> list[Rejection]:
    """NOT_UTF8 for a file that does not decode; read without following a symlink put in
    place since the path was checked, and without blocking on a FIFO."""
    try:
        fd = os.open(root / path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return [Rejection(RuleCode.NOT_A_FILE, shown, f"{shown} cannot be read ({exc.strerror})")]
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return [Rejection(RuleCode.NOT_A_FILE, shown, f"{shown} is not a regular file")]
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read()
    except OSError as exc:
        return [Rejection(RuleCode.NOT_A_FILE, shown, f"{shown} cannot be read ({exc.strerror})")]
    finally:
        os.close(fd)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [
            Rejection(RuleCode.NOT_UTF8, shown, f"{shown} is not UTF-8 text (byte {exc.start})")
        ]
    return []

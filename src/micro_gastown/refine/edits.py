"""Apply the model's edits (replace this exact text by that one) to the files' texts.

An edit names text it has seen; it is applied only where that text occurs exactly once,
so an edit can never land somewhere the model did not mean. Edits of one file apply in
order, each to the text the earlier ones left, and an edit may not build on what an
earlier one wrote (the model wrote every edit against the file as it was). Each failure
is recorded with a reason the model can act on, because a failed edit goes back to it
once.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from micro_gastown.evidence.redact import default_redactor
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.refine.model import Edit, EditFailure, EditFailureCode
from micro_gastown.refine.paths import printable

__all__ = ["EditResult", "apply_edits"]

_CLOSEST_LIMIT: Final = 200
_COMPARED_LIMIT: Final = 400
"""Lines are compared on this many characters at most (difflib is quadratic)."""


@dataclass(slots=True)
class EditResult:
    """Every file's text after the edits (those without edits unchanged), the edits that
    were applied, in order, and those that could not be."""

    texts: dict[str, str]
    applied: list[Edit] = field(default_factory=list)
    failures: list[EditFailure] = field(default_factory=list)


@dataclass(slots=True)
class _FileState:
    original: str
    text: str
    written: list[tuple[int, int]] = field(default_factory=list)
    """Spans of ``text`` that earlier edits wrote (empty where one only deleted)."""


def apply_edits(texts: Mapping[str, str], edits: Sequence[tuple[str, Edit]]) -> EditResult:
    """Apply ``edits`` (each with its file's normalised path, a key of ``texts``) in order.

    Raises KeyError for a path ``texts`` does not hold: the caller reads every file it
    checked, so that is a bug, not a model mistake."""
    states = {path: _FileState(text, text) for path, text in texts.items()}
    result = EditResult(texts={})
    for path, edit in edits:
        if path not in states:
            raise KeyError(f"no text was read for {path!r}")
        failure = _apply(states[path], path, edit)
        if failure is None:
            result.applied.append(edit)
        else:
            result.failures.append(failure)
    result.texts = {path: _final(state) for path, state in states.items()}
    return result


def _apply(state: _FileState, path: str, edit: Edit) -> EditFailure | None:
    shown = printable(path)
    if not edit.old_text:
        return EditFailure(
            edit,
            EditFailureCode.EMPTY_OLD_TEXT,
            f"old_text is empty; quote the exact text of {shown} to replace",
        )
    if edit.new_text == edit.old_text:
        return EditFailure(
            edit,
            EditFailureCode.NO_CHANGE,
            f"new_text equals old_text; the edit changes nothing in {shown}",
        )
    old, new = (
        _in_file_newlines(state.original, edit.old_text),
        _in_file_newlines(state.original, edit.new_text),
    )
    if old == new:
        return EditFailure(
            edit,
            EditFailureCode.NO_CHANGE,
            f"new_text equals old_text; the edit changes nothing in {shown}",
        )
    places = _occurrences(state.text, old)
    untouched = [start for start in places if not _touches(start, start + len(old), state.written)]
    if not places:
        if old in state.original:
            return EditFailure(
                edit,
                EditFailureCode.OVERLAP,
                f"old_text was already changed by an earlier edit of {shown}; "
                "write one edit for that text",
            )
        return EditFailure(edit, EditFailureCode.NOT_FOUND, _not_found(shown, state.text, old))
    if not untouched:
        return EditFailure(
            edit,
            EditFailureCode.OVERLAP,
            f"old_text of {shown} overlaps text an earlier edit wrote; "
            "write one edit for that text",
        )
    if len(untouched) > 1:
        return EditFailure(
            edit,
            EditFailureCode.AMBIGUOUS,
            f"old_text occurs {len(places)} times in {shown}; "
            "include more surrounding lines so it occurs once",
        )
    _replace(state, untouched[0], old, new)
    return None


def _replace(state: _FileState, start: int, old: str, new: str) -> None:
    end = start + len(old)
    shift = len(new) - len(old)
    state.text = state.text[:start] + new + state.text[end:]
    moved = [(a + shift, b + shift) if a >= end else (a, b) for a, b in state.written]
    state.written = [*moved, (start, start + len(new))]


def _occurrences(text: str, needle: str) -> list[int]:
    """Every start of ``needle`` in ``text``, overlapping ones included (``aa`` in
    ``aaa`` is ambiguous)."""
    places: list[int] = []
    start = text.find(needle)
    while start != -1:
        places.append(start)
        start = text.find(needle, start + 1)
    return places


def _touches(start: int, end: int, written: list[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` takes in text an earlier edit wrote, or spans the point
    where one deleted text (text that only became adjacent by that edit)."""
    for a, b in written:
        if a == b:
            if start < a < end:
                return True
        elif start < b and a < end:
            return True
    return False


def _crlf(text: str) -> bool:
    """A file that ends every line with CRLF (and has at least one line end)."""
    return "\n" in text and text.count("\n") == text.count("\r\n")


def _in_file_newlines(original: str, snippet: str) -> str:
    """``snippet`` with the line ends of the file: models write ``\\n``, a CRLF file needs
    ``\\r\\n`` (and a file without a carriage return never gets one from a line end)."""
    if _crlf(original):
        return snippet.replace("\r\n", "\n").replace("\n", "\r\n")
    if "\r" not in original:
        return snippet.replace("\r\n", "\n")
    return snippet


def _final(state: _FileState) -> str:
    """The edited text with the file's own final-newline state: an edit at the end of the
    file may drop or add the last line end, which nobody asked for."""
    text, original = state.text, state.original
    if text == original or not text:
        return text
    newline = "\r\n" if _crlf(original) else "\n"
    if original.endswith("\n") and not text.endswith("\n"):
        return text + newline
    if original and not original.endswith("\n") and text.endswith("\n"):
        return text[: -len("\r\n")] if text.endswith("\r\n") else text[:-1]
    return text


def _not_found(shown: str, text: str, old: str) -> str:
    """What the model is told: the line of the file closest to its old text, if any,
    secrets redacted (the file's own line, which the prompt showed redacted)."""
    redactor = default_redactor()
    if redactor.count_markers(old):
        return (
            f"old_text of {shown} takes in a [REDACTED:...] marker: the file holds a secret "
            "there, which you were not shown; edit lines that hold none"
        )
    wanted = max((line.strip() for line in old.splitlines()), key=len, default="")
    wanted = wanted[:_COMPARED_LIMIT]
    lines = [line.strip()[:_COMPARED_LIMIT] for line in text.splitlines() if line.strip()]
    close = difflib.get_close_matches(wanted, lines, n=1, cutoff=0.6) if wanted else []
    if not close:
        return f"old_text not found in {shown}; no line of the file is close to it"
    line = neutralize_line(redactor.redact_text(close[0]))
    if len(line) > _CLOSEST_LIMIT:
        line = line[: _CLOSEST_LIMIT - 1] + "…"
    return f"old_text not found in {shown}; closest line: {line}"

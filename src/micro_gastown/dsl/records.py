"""Read a Haskell record declaration: its constructor and its fields, in source order.

The refine pipeline checks a changed Jinja template the way ExoMonad's Template Haskell
splice does at compile time: every variable the template reads must be a field of the
context record bound to it (``typedTemplateFile ''FaqContext "templates/faq.jinja"``).
That needs the record's field names without GHC, so this module reads them with the same
lexer as the graph reader (comments, haddock and ``{-# UNPACK #-}`` pragmas are gone
before anything is read; brackets are balanced per declaration).

Read: ``data T vars = C { a :: X, b, c :: !Y } deriving ...`` and ``newtype T = C { f :: X }``
over any number of lines, with strictness (``!``) and laziness (``~``) marks dropped from the
type text, ``DuplicateRecordFields`` (nothing special: names are per record). Not a record
here (``None``): a type with several constructors (``A {..} | B {..}``, whose fields differ
per constructor), a constructor without braces, GADT syntax (``data T where``), a type
synonym, data families and instances. A field whose name could not be read (an invisible
character, bytes that are not UTF-8) is left out; the reader reports it as a ``DslProblem``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from micro_gastown.dsl.lexer import (
    _declarations,
    _depth_step,
    _matching,
    _payload,
    _split_top,
    _Tok,
    _Token,
)
from micro_gastown.dsl.model import SourceLocation
from micro_gastown.dsl.sources import _SourceSet

__all__ = ["RecordDecl", "RecordFinder", "record_fields"]


@dataclass(frozen=True, slots=True)
class RecordDecl:
    """One single-constructor record type: ``fields`` are (name, type text) in source order.

    The type text has normalised spacing and no strictness mark (``!Text`` -> ``Text``);
    it is empty when part of the type could not be read.
    """

    name: str
    constructor: str
    fields: tuple[tuple[str, str], ...]
    declared_in: SourceLocation

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


def record_fields(root: Path, type_name: str, *, near: str | None = None) -> RecordDecl | None:
    """The record declared as ``type_name`` (unqualified) anywhere under ``root``.

    None when no ``data``/``newtype`` declares that name, or when the one found is not a
    single-constructor record (see the module docstring). When several files declare it
    (two packages of a monorepo), the declaration nearest ``near`` (a repo-relative path,
    e.g. the ``Templates.hs`` that binds the record) in the directory tree is read, ties
    going to the first file in path order, as the graph reader resolves type synonyms.
    Raises ``DslError`` naming the file when a ``.hs`` file cannot be read.
    """
    return RecordFinder(root).find(type_name, near=near)


class RecordFinder:
    """``record_fields`` for many names in one checkout: each ``.hs`` file is found, read
    and lexed at most once, however many records are looked up."""

    def __init__(self, root: Path) -> None:
        self._sources = _SourceSet(root)

    def find(self, type_name: str, *, near: str | None = None) -> RecordDecl | None:
        """See ``record_fields``."""
        sources = self._sources
        hint = re.compile(rf"^(?:data|newtype)\s+{re.escape(type_name)}(?![\w'])", re.MULTILINE)
        found: list[tuple[str, RecordDecl | None]] = []
        for path in sources.paths:
            if not hint.search(sources.text(path)):
                continue
            module = sources.module(path)
            for decl in _declarations(module.tokens):
                if _declares(decl, type_name):
                    found.append((module.path, _read_record(decl, module.path)))
        if not found:
            return None
        if near is None:
            return found[0][1]

        def shared(candidate: tuple[str, RecordDecl | None]) -> int:
            return len(PurePosixPath(posixpath.commonpath([near, candidate[0]])).parts)

        return max(found, key=shared)[1]  # max keeps the first of equals: path order


def _declares(decl: list[_Token], type_name: str) -> bool:
    return (
        len(decl) >= 2
        and decl[0].kind is _Tok.NAME
        and decl[0].text in ("data", "newtype")
        and decl[1].kind is _Tok.NAME
        and decl[1].text == type_name
    )


def _read_record(decl: list[_Token], path: str) -> RecordDecl | None:
    """``data T vars = C { fields } deriving ...`` -> the record, or None if it is not one."""
    eq = _top_level(decl, lambda t: t.is_op("="))
    if eq < 0:
        return None  # `data T` (empty), GADT syntax (`data T where`)
    rhs = decl[eq + 1 :]
    deriving = _top_level(rhs, lambda t: t.kind is _Tok.NAME and t.text == "deriving")
    if deriving >= 0:
        rhs = rhs[:deriving]
    if len(_split_top(rhs, lambda t: t.is_op("|"))) > 1:
        return None  # several constructors: each has its own fields
    rhs = _without_quantifier(rhs)
    if len(rhs) < 2 or not rhs[0].is_conid or not rhs[1].is_punct("{"):
        return None
    close = _matching(rhs, 1)
    if close != len(rhs) - 1:
        return None  # something after the braces: not a plain record constructor
    fields = _fields(rhs[2:close])
    return RecordDecl(decl[1].text, rhs[0].bare, fields, SourceLocation(path, decl[1].line))


def _top_level(tokens: list[_Token], is_it: Callable[[_Token], bool]) -> int:
    """Index of the first token outside any bracket for which ``is_it`` holds, else -1."""
    depth = 0
    for i, token in enumerate(tokens):
        if depth == 0 and is_it(token):
            return i
        depth = max(0, depth + _depth_step(token))
    return -1


def _without_quantifier(rhs: list[_Token]) -> list[_Token]:
    """Drop an existential ``forall a.`` and a context ``Show a =>`` before the constructor."""
    if rhs and rhs[0].kind is _Tok.NAME and rhs[0].text == "forall":
        dot = _top_level(rhs, lambda t: t.is_op("."))
        rhs = rhs[dot + 1 :] if dot >= 0 else []
    arrow = _top_level(rhs, lambda t: t.is_op("=>"))
    return rhs[arrow + 1 :] if arrow >= 0 else rhs


def _fields(body: list[_Token]) -> tuple[tuple[str, str], ...]:
    """``a :: X, b, c :: Y`` -> ((a, X), (b, Y), (c, Y)); unreadable names are skipped."""
    fields: list[tuple[str, str]] = []
    pending: list[_Token] = []  # `b, c :: Y` declares b and c with one type
    for segment in _split_top(body, lambda t: t.is_punct(",")):
        sig = next((i for i, t in enumerate(segment) if t.is_op("::")), -1)
        if sig < 0:
            pending.extend(segment)
            continue
        names = [*pending, *segment[:sig]]
        pending = []
        type_text = _type_text(segment[sig + 1 :])
        fields.extend(
            (name.text, type_text)
            for name in names
            if name.kind is _Tok.NAME and not name.is_conid and "." not in name.text
        )
    return tuple(fields)


def _type_text(tokens: list[_Token]) -> str:
    """A field's type as text, without a leading strictness (``!``) or laziness (``~``) mark."""
    while tokens and (tokens[0].is_op("!") or tokens[0].is_op("~")):
        tokens = tokens[1:]
    return _payload(tokens) or ""

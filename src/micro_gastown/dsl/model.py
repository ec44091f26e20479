"""The frozen value objects a DSL checkout is read into: graphs, nodes, edges, templates.

They sit apart from the readers because detectors, the renderer and the replay path
(``render.model_from_dict``) depend on the shape of the result, not on how Haskell
source was read into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from micro_gastown.evidence.sanitize import neutralize_line

__all__ = [
    "DslModel",
    "DslProblem",
    "DslProblemCode",
    "Edge",
    "GraphDecl",
    "Node",
    "NodeKind",
    "SourceLocation",
    "TemplateBinding",
]


class NodeKind(StrEnum):
    """The four node constructors of a graph record."""

    ENTRY = "entry"
    EXIT = "exit"
    LLM = "llm"
    LOGIC = "logic"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something is declared: a POSIX path relative to the repo root, 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Node:
    """One field of a graph record.

    ``payload`` is the ``T`` of ``Entry T`` / ``Exit T``; ``template`` and ``schema`` come
    from ``:@ Template X`` / ``:@ Schema X``; ``annotations`` are the raw annotation names
    in source order (unknown ones included); ``effects`` are the non-``Goto`` entries of
    its ``UsesEffects`` lists (``PaymentApi``, ``State S``...), synonyms expanded.
    """

    graph: str
    name: str
    kind: NodeKind
    declared_in: SourceLocation
    payload: str | None
    template: str | None
    schema: str | None
    annotations: tuple[str, ...]
    effects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Edge:
    """A declared ``Goto``: ``Goto Exit T`` targets the graph's ``Exit`` field.

    ``declared_in`` is the line of the ``Goto`` itself, inside the type synonym when the
    edge comes from one, because that is the line a change would edit.
    """

    graph: str
    source: str
    target: str
    payload: str | None
    declared_in: SourceLocation


@dataclass(frozen=True, slots=True)
class TemplateBinding:
    """A Jinja template bound to a template type in ``Templates.hs``.

    ``file`` is repo-relative (``typedTemplateFile`` paths are relative to the package
    root, which may sit below the repo root). A compiled template no instance refers to
    is still listed, with its context type as ``type_name`` and no ``template_name``.
    """

    type_name: str
    template_name: str | None
    file: str | None
    declared_in: SourceLocation
    context: str | None = None


class DslProblemCode(StrEnum):
    """What kind of thing in the checkout could not be read (stable: tests and tools match it)."""

    INVALID_UTF8 = "invalid_utf8"
    """Bytes that are not UTF-8; they were replaced by U+FFFD and names holding them skipped."""
    UNTERMINATED_STRING = "unterminated_string"
    """A string literal with no closing quote; it is read to the end of its line."""
    UNTERMINATED_COMMENT = "unterminated_comment"
    """A ``{-`` never closed: everything after it is a comment, as GHC would also read it."""
    UNCLOSED_BRACKET = "unclosed_bracket"
    """An opening bracket never closed; it is taken as closed where the indentation ends."""
    UNEXPECTED_BRACKET = "unexpected_bracket"
    """A closing bracket that closes nothing; it is ignored."""
    TOO_DEEP = "too_deep"
    """Brackets or type synonyms nested deeper than the reader follows; that part is skipped."""
    INVISIBLE_CHARACTER = "invisible_character"
    """A control, format (bidi, zero-width) or other invisible character in code or a name."""
    INVALID_NAME = "invalid_name"
    """A name (a ``Goto`` target, a field) that is not a Haskell identifier."""
    NOT_A_FILE = "not_a_file"
    """A ``.hs`` name that is a FIFO, a directory, a dangling symlink or a loop: not read."""
    MORE_PROBLEMS = "more_problems"
    """The rest of a file's problems, counted rather than listed one by one."""


@dataclass(frozen=True, slots=True)
class DslProblem:
    """Something in the checkout that could not be read, so what depends on it is missing.

    The reader skips the broken part and carries on, so one typo cannot hide a whole graph;
    these say what was skipped, so a missing node or edge is never silent.
    """

    code: DslProblemCode
    location: SourceLocation
    """Line 0 when the problem is the file as a whole (it is not a file, say)."""
    message: str

    @property
    def where(self) -> str:
        """``path:line``, or ``path`` for a problem with the whole file."""
        return str(self.location) if self.location.line else self.location.path

    def __str__(self) -> str:
        """``path:line: message (code)``, safe to print: nothing in it is hidden."""
        return neutralize_line(f"{self.where}: {self.message} ({self.code.value})")


@dataclass(frozen=True, slots=True)
class GraphDecl:
    """One graph record: its nodes and edges in declaration order."""

    name: str
    path: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class DslModel:
    """Everything read from one checkout, and what could not be read (``problems``)."""

    root: Path
    graphs: tuple[GraphDecl, ...]
    templates: tuple[TemplateBinding, ...]
    problems: tuple[DslProblem, ...] = ()

    def nodes(self) -> tuple[Node, ...]:
        return tuple(node for graph in self.graphs for node in graph.nodes)

    def edges(self) -> tuple[Edge, ...]:
        return tuple(edge for graph in self.graphs for edge in graph.edges)

    def template_binding(self, type_name: str) -> TemplateBinding | None:
        """The binding of a node's ``Template X`` type, so callers can find its Jinja file."""
        return next((t for t in self.templates if t.type_name == type_name), None)

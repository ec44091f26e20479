"""Read the declared shape of an ExoMonad DSL checkout without a Haskell toolchain.

micro-gastown runs where GHC is not installed (a GitHub runner, a laptop), yet it must
know which nodes and edges a graph *declares* to call a path dead or a template bloated.
Everything it needs is spelled out in the source: graph records in ``Graph.hs``, ``Goto``
effects (directly or through ``type X = '[...]`` synonyms in any module) and the
``TemplateDef`` instances in ``Templates.hs``. So ``read_dsl`` lexes Haskell just enough
(``lexer``: comments, strings, brackets, top-level layout) and reads those constructs:
graph records and synonyms here, template bindings in ``templates``, into ``model``.

The reader is lenient on purpose: a construct it does not understand is skipped, never
fatal, so one odd declaration cannot hide the rest of a graph. Only an unusable ``--repo``
raises ``DslError``. What is skipped because it is broken (not UTF-8, an unterminated
string, a missing bracket, nesting too deep, an invisible character in a name, a ``Goto``
target that is no name) is not silent: it is a ``DslProblem`` on the model, with its
``file:line``. Output order is declaration order, so results are deterministic.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from micro_gastown.dsl.lexer import (
    _declarations,
    _matching,
    _payload,
    _render,
    _split_top,
    _string_value,
    _Tok,
    _Token,
    _unwrap_parens,
)
from micro_gastown.dsl.model import (
    DslModel,
    DslProblemCode,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
)
from micro_gastown.dsl.names import (
    describe_char,
    first_hidden,
    is_identifier,
    visible,
)
from micro_gastown.dsl.sources import _Module, _SourceSet
from micro_gastown.dsl.templates import _read_templates
from micro_gastown.errors import DslError

__all__ = ["read_dsl"]

# Constructor name (unqualified) -> kind. ``EntryNode``/``ExitNode`` are the newer spellings.
_KIND_BY_CONSTRUCTOR = {
    "Entry": NodeKind.ENTRY,
    "EntryNode": NodeKind.ENTRY,
    "Exit": NodeKind.EXIT,
    "ExitNode": NodeKind.EXIT,
    "LLMNode": NodeKind.LLM,
    "LogicNode": NodeKind.LOGIC,
}


def read_dsl(repo: Path) -> DslModel:
    """Read every graph record and template binding under ``repo``.

    Raises ``DslError`` naming the path when ``repo`` is missing, not a directory, has no
    ``Graph.hs`` or holds a file that cannot be read. Parts that cannot be read are skipped
    and listed in the model's ``problems``.
    """
    if not repo.exists():
        raise DslError("no such directory", setting="repo", value=repo)
    if not repo.is_dir():
        raise DslError("not a directory", setting="repo", value=repo)
    sources = _SourceSet(repo)
    graph_files = [p for p in sources.paths if p.name.endswith("Graph.hs")]
    if not graph_files:
        skipped = [str(p) for p in sources.problems() if p.location.path.endswith("Graph.hs")]
        detail = f" (skipped {'; '.join(skipped[:3])})" if skipped else ""
        raise DslError(f"no Graph.hs file found under it{detail}", setting="repo", value=repo)
    synonyms = _collect_synonyms(sources)
    graphs: list[GraphDecl] = []
    for path in graph_files:
        module = sources.module(path)
        graphs.extend(_read_graphs(module, synonyms, sources))
    templates = _read_templates(sources)
    return DslModel(repo, tuple(graphs), templates, sources.problems())


# --------------------------------------------------------------------------------------
# Type synonyms
# --------------------------------------------------------------------------------------

# A cheap pre-filter so only files that may define a synonym get lexed.
_SYNONYM_HINT_RE = re.compile(r"^type\s+[^\W\d_][\w']*\s*=", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class _Synonym:
    path: str
    rhs: list[_Token]


_Synonyms = dict[str, list[_Synonym]]


def _collect_synonyms(sources: _SourceSet) -> _Synonyms:
    """Every parameterless ``type X = ...`` of the checkout, by unqualified name."""
    synonyms: _Synonyms = {}
    for path in sources.paths:
        if not _SYNONYM_HINT_RE.search(sources.text(path)):
            continue
        module = sources.module(path)
        for decl in _declarations(module.tokens):
            if (
                len(decl) >= 4
                and decl[0].kind is _Tok.NAME
                and decl[0].text == "type"
                and decl[1].is_conid
                and decl[2].is_op("=")
            ):
                synonyms.setdefault(decl[1].text, []).append(_Synonym(module.path, decl[3:]))
    return synonyms


def _lookup(synonyms: _Synonyms, name: _Token, from_path: str) -> _Synonym | None:
    """The definition nearest the referring file: same file, then same directory tree.

    Without resolving imports this is the best guess when two packages of a monorepo
    define the same name; ties go to the first file in path order.
    """
    found = synonyms.get(name.bare)
    if not found:
        return None

    def shared(synonym: _Synonym) -> int:
        return len(PurePosixPath(posixpath.commonpath([from_path, synonym.path])).parts)

    return max(found, key=shared)  # max keeps the first of equals: path order


# --------------------------------------------------------------------------------------
# Graph records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GotoRef:
    """A ``Goto`` before ``Exit``/``Self`` targets are resolved against the whole record."""

    target: str | None  # None: the graph's Exit field
    payload: str | None
    declared_in: SourceLocation


_Element = tuple[list[_Token], str]  # an effect-list element and the file it is written in


def _read_graphs(module: _Module, synonyms: _Synonyms, sources: _SourceSet) -> Iterator[GraphDecl]:
    for decl in _declarations(module.tokens):
        if decl[0].kind is _Tok.NAME and decl[0].text == "data":
            graph = _read_graph(decl, module.path, synonyms, sources)
            if graph is not None:
                yield graph


def _record_fields(decl: list[_Token]) -> tuple[str, list[_Token]] | None:
    """``data Name vars = Con { fields } deriving ...`` -> (Name, tokens between braces)."""
    if len(decl) < 5 or not decl[1].is_conid:
        return None
    eq = next((i for i, t in enumerate(decl) if t.is_op("=")), -1)
    if eq < 0 or eq + 2 >= len(decl) or not decl[eq + 1].is_conid:
        return None
    if not decl[eq + 2].is_punct("{"):
        return None
    close = _matching(decl, eq + 2)
    body = decl[eq + 3 : close] if close > 0 else decl[eq + 3 :]
    return decl[1].text, body


def _read_graph(
    decl: list[_Token], path: str, synonyms: _Synonyms, sources: _SourceSet
) -> GraphDecl | None:
    record = _record_fields(decl)
    if record is None:
        return None
    graph_name, body = record
    nodes: list[Node] = []
    gotos: list[tuple[str, _GotoRef]] = []
    pending: list[_Token] = []  # `a, b :: T` declares a and b with one type
    for segment in _split_top(body, lambda t: t.is_punct(",")):
        sig = next((i for i, t in enumerate(segment) if t.is_op("::")), -1)
        if sig < 0:
            pending.extend(t for t in segment if t.kind is _Tok.NAME)
            continue
        names = pending + [t for t in segment[:sig] if t.kind is _Tok.NAME]
        pending = []
        for name in names:
            parsed = _read_node(graph_name, name, segment[sig + 1 :], path, synonyms, sources)
            if parsed is not None:
                nodes.append(parsed[0])
                gotos.extend((name.text, ref) for ref in parsed[1])
    if not nodes:
        return None
    exit_name = next((n.name for n in nodes if n.kind is NodeKind.EXIT), "exit")
    edges = tuple(
        Edge(graph_name, source, ref.target or exit_name, ref.payload, ref.declared_in)
        for source, ref in gotos
    )
    return GraphDecl(graph_name, path, tuple(nodes), edges)


def _annotation_parts(tokens: list[_Token]) -> list[list[_Token]]:
    """Split ``K :@ A :@ B`` (``:@`` is infixl), flattening ``(K :@ A) :@ B`` too."""
    parts = _split_top(tokens, lambda t: t.is_op(":@"))
    while True:
        head = _unwrap_parens(parts[0])
        inner = _split_top(head, lambda t: t.is_op(":@"))
        if len(inner) == 1:
            parts[0] = head
            return parts
        parts = inner + parts[1:]


def _read_node(
    graph: str,
    name: _Token,
    type_tokens: list[_Token],
    path: str,
    synonyms: _Synonyms,
    sources: _SourceSet,
) -> tuple[Node, list[_GotoRef]] | None:
    """A field typed ``mode :- Kind :@ Ann ...``; anything else is not a node."""
    tokens = [t for t in type_tokens if not t.is_op("!")]  # strictness marks
    if len(tokens) < 3 or tokens[0].kind is not _Tok.NAME or not tokens[1].is_op(":-"):
        return None
    parts = _annotation_parts(tokens[2:])
    head = parts[0]
    kind = _KIND_BY_CONSTRUCTOR.get(head[0].bare) if head else None
    if kind is None:
        return None
    payload = _payload(head[1:]) if kind in (NodeKind.ENTRY, NodeKind.EXIT) else None
    template = schema = None
    annotations: list[str] = []
    effects: list[str] = []
    gotos: list[_GotoRef] = []
    for part in parts[1:]:
        part = _unwrap_parens(part)
        if not part or part[0].kind is not _Tok.NAME:
            continue
        annotation, args = part[0].bare, part[1:]
        annotations.append(annotation)
        if annotation == "Template":
            template = _payload(args)
        elif annotation == "Schema":
            schema = _payload(args)
        elif annotation == "UsesEffects":
            for element, element_path in _effect_elements(args, path, synonyms, sources):
                if _is_broken(element) or _bad_target(element, element_path, sources):
                    continue  # reported: the lexer or _bad_target said why
                goto = _goto(element, element_path, name.text)
                if goto is not None:
                    gotos.append(goto)
                elif element:
                    effects.append(_render(_unwrap_parens(element)))
    node = Node(
        graph=graph,
        name=name.text,
        kind=kind,
        declared_in=SourceLocation(path, name.line),
        payload=payload,
        template=template,
        schema=schema,
        annotations=tuple(annotations),
        effects=tuple(effects),
    )
    return node, gotos


MAX_SYNONYM_DEPTH = 32
"""Synonyms expanded inside synonyms; deeper chains are reported, not followed."""

MAX_EFFECTS = 10_000
"""Elements one effect list may expand to (synonyms can double it at every level)."""


def _effect_elements(
    tokens: list[_Token], path: str, synonyms: _Synonyms, sources: _SourceSet
) -> Iterator[_Element]:
    """Flatten an effect-list type: ``'[...]``, synonyms (nested too), ``A ++ B``.

    Iterative, with bounds on synonym depth and list size, so no input can recurse or
    blow up: what is cut off is reported.
    """
    # A stack of (tokens, file, synonyms being expanded), popped in source order.
    work: list[tuple[list[_Token], str, frozenset[str]]] = [(tokens, path, frozenset())]
    produced = 0
    while work:
        tokens, path, expanding = work.pop()
        tokens = _unwrap_parens(tokens)
        if not tokens:
            continue
        produced += 1
        if produced > MAX_EFFECTS:
            sources.note(
                path,
                DslProblemCode.TOO_DEEP,
                tokens[0].line,
                f"effect list expands to more than {MAX_EFFECTS} entries: the rest is skipped",
            )
            return
        appended = _split_top(tokens, lambda t: t.is_op("++"))
        if len(appended) > 1:
            work.extend((part, path, expanding) for part in reversed(appended))
            continue
        list_start = 1 if tokens[0].kind is _Tok.TICK else 0
        if (
            len(tokens) > list_start
            and tokens[list_start].is_punct("[")
            and _matching(tokens, list_start) == len(tokens) - 1
        ):
            elements = _split_top(tokens[list_start + 1 : -1], lambda t: t.is_punct(","))
            work.extend((element, path, expanding) for element in reversed(elements))
            continue
        if len(tokens) == 1 and tokens[0].is_conid and tokens[0].bare not in expanding:
            synonym = _lookup(synonyms, tokens[0], path)
            if synonym is not None and len(expanding) >= MAX_SYNONYM_DEPTH:
                sources.note(
                    path,
                    DslProblemCode.TOO_DEEP,
                    tokens[0].line,
                    f"type synonyms nested more than {MAX_SYNONYM_DEPTH} deep at "
                    f"{tokens[0].text!r}: not expanded",
                )
                continue
            if synonym is not None:
                work.append((synonym.rhs, synonym.path, expanding | {tokens[0].bare}))
                continue
        yield tokens, path


def _is_broken(tokens: list[_Token]) -> bool:
    """Holds a token the lexer could not read (and has reported)."""
    return any(t.kind is _Tok.BAD for t in tokens)


def _goto(element: list[_Token], path: str, source: str) -> _GotoRef | None:
    """``Goto "node" T``, ``Goto Exit T`` or ``Goto Self T``; None for any other effect."""
    element = _unwrap_parens(element)
    if len(element) < 2 or element[0].kind is not _Tok.NAME or element[0].bare != "Goto":
        return None
    target_token, rest = element[1], element[2:]
    location = SourceLocation(path, element[0].line)
    if target_token.kind is _Tok.STRING:
        return _GotoRef(_string_value(target_token), _payload(rest), location)
    if target_token.kind is _Tok.NAME and target_token.bare in ("Exit", "Self"):
        target = None if target_token.bare == "Exit" else source
        return _GotoRef(target, _payload(rest), location)
    return None


def _bad_target(element: list[_Token], path: str, sources: _SourceSet) -> bool:
    """``Goto "x" T`` whose ``x`` is no Haskell name (a bidi control or a zero-width space
    inside it, a space...): it could never match a node, so it is reported, not read."""
    element = _unwrap_parens(element)
    if len(element) < 2 or element[0].kind is not _Tok.NAME or element[0].bare != "Goto":
        return False
    if element[1].kind is not _Tok.STRING:
        return False
    target = _string_value(element[1])
    if is_identifier(target):
        return False
    unseen = first_hidden(target)
    if unseen is not None:
        code = DslProblemCode.INVISIBLE_CHARACTER
        why = f"contains {describe_char(unseen)}, which does not show"
    else:
        code = DslProblemCode.INVALID_NAME
        why = "is not a Haskell name"
    message = f"Goto target {visible(target)!r} {why}: edge skipped"
    sources.note(path, code, element[0].line, message)
    return True

"""Read the declared shape of an ExoMonad DSL checkout (SPEC §2) without a Haskell toolchain.

micro-gastown runs where GHC is not installed (a GitHub runner, a laptop), yet it must
know which nodes and edges a graph *declares* to call a path dead or a template bloated.
Everything it needs is spelled out in the source: graph records in ``Graph.hs``, ``Goto``
effects (directly or through ``type X = '[...]`` synonyms in any module) and the
``TemplateDef`` instances in ``Templates.hs``. So this module lexes Haskell just enough
(comments, strings, brackets, top-level layout) and reads those constructs.

The reader is lenient on purpose: a construct it does not understand is skipped, never
fatal, so one odd declaration cannot hide the rest of a graph. Only an unusable ``--repo``
raises ``DslError``. Output order is declaration order, so results are deterministic.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path, PurePosixPath

from micro_gastown.errors import DslError

__all__ = [
    "DslModel",
    "Edge",
    "GraphDecl",
    "Node",
    "NodeKind",
    "SourceLocation",
    "TemplateBinding",
    "read_dsl",
    "strip_comments",
]

# Directories that hold build output or vendored code, never the DSL itself.
SKIPPED_DIRS = frozenset({".git", "dist-newstyle", ".stack-work", "node_modules"})
# What marks a Haskell package root: template paths are relative to it (Template Haskell
# runs ``typedTemplateFile`` from the package directory).
_PACKAGE_MARKERS = ("*.cabal", "package.yaml")


class NodeKind(StrEnum):
    """The four node constructors of a graph record."""

    ENTRY = "entry"
    EXIT = "exit"
    LLM = "llm"
    LOGIC = "logic"


# Constructor name (unqualified) -> kind. ``EntryNode``/``ExitNode`` are the newer spellings.
_KIND_BY_CONSTRUCTOR = {
    "Entry": NodeKind.ENTRY,
    "EntryNode": NodeKind.ENTRY,
    "Exit": NodeKind.EXIT,
    "ExitNode": NodeKind.EXIT,
    "LLMNode": NodeKind.LLM,
    "LogicNode": NodeKind.LOGIC,
}


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


@dataclass(frozen=True, slots=True)
class GraphDecl:
    """One graph record: its nodes and edges in declaration order."""

    name: str
    path: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class DslModel:
    """Everything read from one checkout."""

    root: Path
    graphs: tuple[GraphDecl, ...]
    templates: tuple[TemplateBinding, ...]

    def nodes(self) -> tuple[Node, ...]:
        return tuple(node for graph in self.graphs for node in graph.nodes)

    def edges(self) -> tuple[Edge, ...]:
        return tuple(edge for graph in self.graphs for edge in graph.edges)

    def template_binding(self, type_name: str) -> TemplateBinding | None:
        """The binding of a node's ``Template X`` type, so callers can find its Jinja file."""
        return next((t for t in self.templates if t.type_name == type_name), None)


def read_dsl(repo: Path) -> DslModel:
    """Read every graph record and template binding under ``repo``.

    Raises ``DslError`` naming the path when ``repo`` is missing, not a directory, has no
    ``Graph.hs`` or holds a file that cannot be read.
    """
    if not repo.exists():
        raise DslError(f"--repo {repo}: no such directory")
    if not repo.is_dir():
        raise DslError(f"--repo {repo}: not a directory")
    sources = _SourceSet(repo)
    graph_files = [p for p in sources.paths if p.name.endswith("Graph.hs")]
    if not graph_files:
        raise DslError(f"--repo {repo}: no Graph.hs file found under it")
    synonyms = _collect_synonyms(sources)
    graphs: list[GraphDecl] = []
    for path in graph_files:
        module = sources.module(path)
        graphs.extend(_read_graphs(module, synonyms))
    return DslModel(root=repo, graphs=tuple(graphs), templates=_read_templates(sources))


# --------------------------------------------------------------------------------------
# Lexing: just enough Haskell (Haskell 2010 report, ch. 2 "Lexical Structure")
# --------------------------------------------------------------------------------------

_SYMBOL_CHARS = frozenset("!#$%&*+./<=>?@\\^|-~:")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\(?:\s+\\|.))*"?', re.DOTALL)
_CHAR_RE = re.compile(r"'(?:[^'\\\n]|\\[^'\n]{1,12})'")
# A run of two or more dashes not followed by a symbol starts a line comment (`-->` does not).
_LINE_COMMENT_RE = re.compile(r"--+(?![!#$%&*+./<=>?@\\^|~:-])")
_BLOCK_DELIM_RE = re.compile(r"\{-|-\}")


def strip_comments(source: str) -> str:
    """Blank out ``--`` and nested ``{- -}`` comments, keeping every offset and line.

    String and character literals are skipped whole, so ``"--"`` inside one survives.
    """
    out: list[str] = []
    copied = i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        end = -1
        if ch == '"':
            match = _STRING_RE.match(source, i)
            i = match.end() if match else i + 1
            continue
        if ch == "'":
            prev = source[i - 1] if i else " "
            literal = None if prev.isalnum() or prev in "_'" else _CHAR_RE.match(source, i)
            i = literal.end() if literal else i + 1
            continue
        if ch == "{" and source.startswith("{-", i):
            end = _block_comment_end(source, i)
        elif (
            ch == "-"
            and (i == 0 or source[i - 1] not in _SYMBOL_CHARS)
            and _LINE_COMMENT_RE.match(source, i)
        ):
            end = source.find("\n", i)
            end = n if end < 0 else end
        if end < 0:
            i += 1
            continue
        out.append(source[copied:i])
        out.append(re.sub(r"[^\n]", " ", source[i:end]))
        copied = i = end
    out.append(source[copied:])
    return "".join(out)


def _block_comment_end(source: str, start: int) -> int:
    depth = 0
    for match in _BLOCK_DELIM_RE.finditer(source, start):
        depth += 1 if match.group() == "{-" else -1
        if depth == 0:
            return match.end()
    return len(source)  # unterminated: the comment runs to the end of the file


class _Tok(Enum):
    NAME = "name"  # varid or conid, possibly qualified (`G.LLMNode`)
    STRING = "string"
    CHAR = "char"
    NUMBER = "number"
    OP = "op"
    PUNCT = "punct"
    TICK = "tick"  # a promotion quote (`'[`) or half of a TH name quote (`''Ctx`)
    OTHER = "other"


_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<string>"(?:[^"\\\n]|\\(?:\s+\\|.))*"?)
    | (?P<char>(?<![\w'])'(?:[^'\\\n]|\\[^'\n]{1,12})')
    | (?P<name>(?:[A-Z][\w']*\.)*[A-Za-z_][\w']*)
    | (?P<number>\d[\w.]*)
    | (?P<op>[!#$%&*+./<=>?@\\^|~:-]+)
    | (?P<punct>[()\[\]{},;`])
    | (?P<tick>')
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Tok
    text: str
    line: int
    col: int

    def is_op(self, text: str) -> bool:
        return self.kind is _Tok.OP and self.text == text

    def is_punct(self, text: str) -> bool:
        return self.kind is _Tok.PUNCT and self.text == text

    @property
    def bare(self) -> str:
        """The name without its module qualifier: ``G.LLMNode`` -> ``LLMNode``."""
        return self.text.rsplit(".", 1)[-1] if self.kind is _Tok.NAME else self.text

    @property
    def is_conid(self) -> bool:
        return self.kind is _Tok.NAME and self.bare[:1].isupper()


def _tokenize(source: str) -> list[_Token]:
    """Tokens of comment-free source, each with its 1-based line and 0-based column."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
    tokens = []
    for match in _TOKEN_RE.finditer(source):
        kind = match.lastgroup
        if kind == "space" or kind is None:
            continue
        line = bisect.bisect_right(line_starts, match.start())
        col = match.start() - line_starts[line - 1]
        tokens.append(_Token(_Tok(kind), match.group(), line, col))
    return tokens


def _declarations(tokens: list[_Token]) -> Iterator[list[_Token]]:
    """Split a module into top-level declarations: each starts in column 0 (layout rule)."""
    start = 0
    for i, token in enumerate(tokens):
        if token.col == 0 and i > start:
            yield tokens[start:i]
            start = i
    if start < len(tokens):
        yield tokens[start:]


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())


def _depth_step(token: _Token) -> int:
    if token.kind is _Tok.PUNCT:
        if token.text in _OPENERS:
            return 1
        if token.text in _CLOSERS:
            return -1
    return 0


def _split_top(tokens: Sequence[_Token], is_sep: Callable[[_Token], bool]) -> list[list[_Token]]:
    """Split on separators outside any bracket (unbalanced input degrades, never raises)."""
    parts: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if depth == 0 and is_sep(token):
            parts.append([])
            continue
        depth = max(0, depth + _depth_step(token))
        parts[-1].append(token)
    return parts


def _matching(tokens: Sequence[_Token], open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at``, or -1 when unbalanced."""
    depth = 0
    for i in range(open_at, len(tokens)):
        depth += _depth_step(tokens[i])
        if depth == 0:
            return i
    return -1


def _unwrap_parens(tokens: Sequence[_Token]) -> list[_Token]:
    """Drop parentheses around the whole expression: ``((Maybe X))`` -> ``Maybe X``.

    Tuple parentheses are kept: ``(A, B)`` is a different type from ``A, B``.
    """
    items = list(tokens)
    while len(items) >= 2 and items[0].is_punct("(") and _matching(items, 0) == len(items) - 1:
        inner = items[1:-1]
        if len(_split_top(inner, lambda t: t.is_punct(","))) > 1:
            break
        items = inner
    return items


def _render(tokens: Sequence[_Token]) -> str:
    """Type text with normalised spacing, whatever the layout or comments in the source."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        glue = (
            prev is None
            or prev.kind is _Tok.TICK
            or prev.text in ("(", "[")
            or (token.kind is _Tok.PUNCT and token.text in (")", "]", ","))
        )
        out.append(token.text if glue else " " + token.text)
    return "".join(out)


def _payload(tokens: Sequence[_Token]) -> str | None:
    text = _render(_unwrap_parens(tokens))
    return text or None


def _string_value(token: _Token) -> str:
    """The contents of a string literal; escapes beyond ``\\"`` and ``\\\\`` are left as is."""
    body = token.text[1:-1] if token.text.endswith('"') and len(token.text) > 1 else token.text[1:]
    return re.sub(r'\\(["\\])', r"\1", body)


# --------------------------------------------------------------------------------------
# Source files
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Module:
    path: str  # repo-relative, POSIX
    tokens: list[_Token]


@dataclass(slots=True)
class _SourceSet:
    """The ``.hs`` files of a checkout, read and lexed lazily and at most once."""

    root: Path
    paths: list[Path] = field(default_factory=list)
    _texts: dict[Path, str] = field(default_factory=dict)
    _modules: dict[Path, _Module] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            base = Path(dirpath)
            self.paths.extend(base / f for f in sorted(filenames) if f.endswith(".hs"))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def text(self, path: Path) -> str:
        if path not in self._texts:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise DslError(
                    f"--repo {self.root}: cannot read {self.relative(path)}: {exc.strerror}"
                ) from exc
            self._texts[path] = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return self._texts[path]

    def module(self, path: Path) -> _Module:
        if path not in self._modules:
            tokens = _tokenize(strip_comments(self.text(path)))
            self._modules[path] = _Module(self.relative(path), tokens)
        return self._modules[path]


# --------------------------------------------------------------------------------------
# Type synonyms
# --------------------------------------------------------------------------------------

# A cheap pre-filter so only files that may define a synonym get lexed.
_SYNONYM_HINT_RE = re.compile(r"^type\s+[A-Z][\w']*\s*=", re.MULTILINE)


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


def _read_graphs(module: _Module, synonyms: _Synonyms) -> Iterator[GraphDecl]:
    for decl in _declarations(module.tokens):
        if decl[0].kind is _Tok.NAME and decl[0].text == "data":
            graph = _read_graph(decl, module.path, synonyms)
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


def _read_graph(decl: list[_Token], path: str, synonyms: _Synonyms) -> GraphDecl | None:
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
            parsed = _read_node(graph_name, name, segment[sig + 1 :], path, synonyms)
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
    graph: str, name: _Token, type_tokens: list[_Token], path: str, synonyms: _Synonyms
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
            for element, element_path in _effect_elements(args, path, synonyms, frozenset()):
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


def _effect_elements(
    tokens: list[_Token], path: str, synonyms: _Synonyms, expanding: frozenset[str]
) -> Iterator[_Element]:
    """Flatten an effect-list type: ``'[...]``, synonyms (nested too), ``A ++ B``."""
    tokens = _unwrap_parens(tokens)
    if not tokens:
        return
    appended = _split_top(tokens, lambda t: t.is_op("++"))
    if len(appended) > 1:
        for part in appended:
            yield from _effect_elements(part, path, synonyms, expanding)
        return
    list_start = 1 if tokens[0].kind is _Tok.TICK else 0
    if (
        len(tokens) > list_start
        and tokens[list_start].is_punct("[")
        and _matching(tokens, list_start) == len(tokens) - 1
    ):
        for element in _split_top(tokens[list_start + 1 : -1], lambda t: t.is_punct(",")):
            yield from _effect_elements(element, path, synonyms, expanding)
        return
    if len(tokens) == 1 and tokens[0].is_conid and tokens[0].bare not in expanding:
        synonym = _lookup(synonyms, tokens[0], path)
        if synonym is not None:
            inner = expanding | {tokens[0].bare}
            yield from _effect_elements(synonym.rhs, synonym.path, synonyms, inner)
            return
    yield tokens, path


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


# --------------------------------------------------------------------------------------
# Template bindings (Templates.hs)
# --------------------------------------------------------------------------------------

_TEMPLATE_HINT_RE = re.compile(r"\b(?:TemplateDef|typedTemplateFile)\b")


@dataclass(frozen=True, slots=True)
class _Compiled:
    """``var = $(typedTemplateFile ''Ctx "templates/x.jinja")``."""

    var: str | None
    context: str | None
    file: str
    declared_in: SourceLocation


def _read_templates(sources: _SourceSet) -> tuple[TemplateBinding, ...]:
    bindings: list[TemplateBinding] = []
    for path in sources.paths:
        if not _TEMPLATE_HINT_RE.search(sources.text(path)):
            continue
        module = sources.module(path)
        package = _package_prefix(sources.root, path)
        decls = list(_declarations(module.tokens))
        compiled = [
            c
            for decl in decls
            if decl[0].text not in _NOT_VALUE_BINDINGS
            and (c := _compiled(decl, module.path, package, _bound_var(decl))) is not None
        ]
        used: set[int] = set()
        for decl in decls:
            binding = _instance_binding(decl, module.path, package, compiled, used)
            if binding is not None:
                bindings.append(binding)
        bindings.extend(
            TemplateBinding(c.context or c.file, None, c.file, c.declared_in, c.context)
            for i, c in enumerate(compiled)
            if i not in used
        )
    return tuple(bindings)


_NOT_VALUE_BINDINGS = frozenset({"import", "instance", "module", "class", "data", "type"})


def _bound_var(decl: list[_Token]) -> str | None:
    """``name args = ...`` -> ``name``: the value a ``templateCompiled`` field refers to."""
    head = decl[0]
    if head.kind is _Tok.NAME and not head.is_conid and any(t.is_op("=") for t in decl):
        return head.text
    return None


def _package_prefix(root: Path, path: Path) -> str:
    """The repo-relative directory of the package holding ``path`` ("" at the repo root)."""
    for directory in path.parents:
        if directory == root or root not in directory.parents:
            break
        if any(next(directory.glob(marker), None) for marker in _PACKAGE_MARKERS):
            return directory.relative_to(root).as_posix()
    return ""


def _repo_file(package: str, written: str) -> str:
    """A template path as written (package-relative) -> repo-relative, when it stays inside."""
    joined = posixpath.normpath(posixpath.join(package, written))
    return written if written.startswith("/") or joined.startswith("..") else joined


def _compiled(tokens: list[_Token], path: str, package: str, var: str | None) -> _Compiled | None:
    at = next((i for i, t in enumerate(tokens) if t.bare == "typedTemplateFile"), -1)
    if at < 0:
        return None
    rest = [t for t in tokens[at + 1 :] if t.kind is not _Tok.TICK]
    if len(rest) < 2 or rest[1].kind is not _Tok.STRING:
        return None
    context = rest[0].bare if rest[0].is_conid else None
    file = _repo_file(package, _string_value(rest[1]))
    return _Compiled(var, context, file, SourceLocation(path, tokens[at].line))


def _instance_binding(
    decl: list[_Token], path: str, package: str, compiled: list[_Compiled], used: set[int]
) -> TemplateBinding | None:
    """``instance TemplateDef X where templateName = "..."; templateCompiled = ...``."""
    if decl[0].text != "instance":
        return None
    cls = next((i for i, t in enumerate(decl) if t.bare == "TemplateDef"), -1)
    where = next((i for i, t in enumerate(decl) if t.text == "where"), len(decl))
    if cls < 0 or cls + 1 >= where:
        return None
    type_name = _render(_unwrap_parens(decl[cls + 1 : where]))
    body = decl[where + 1 :]
    name = _binding_rhs(body, "templateName")
    template_name = _string_value(name[0]) if name and name[0].kind is _Tok.STRING else None
    context_rhs = _type_instance_rhs(body, "TemplateContext")
    context = _render(_unwrap_parens(context_rhs)) if context_rhs else None
    # The file: an inline splice, else the compiled value it names, else by context type.
    ref = _binding_rhs(body, "templateCompiled")
    inline = _compiled(ref, path, package, None)
    file = inline.file if inline else None
    if file is None:
        by_var = [i for i, c in enumerate(compiled) if ref and c.var == ref[0].text]
        by_context = [i for i, c in enumerate(compiled) if context and c.context == context]
        chosen = by_var or (by_context if len(by_context) == 1 else [])
        if chosen:
            used.add(chosen[0])
            file = compiled[chosen[0]].file
    location = SourceLocation(path, decl[0].line)
    return TemplateBinding(type_name, template_name, file, location, context)


def _binding_rhs(body: list[_Token], name: str) -> list[_Token]:
    """The tokens after ``name =``, up to the next line indented no deeper than ``name``."""
    for i, token in enumerate(body[:-1]):
        if token.text == name and body[i + 1].is_op("="):
            rhs = []
            for t in body[i + 2 :]:
                if t.line != token.line and t.col <= token.col:
                    break
                rhs.append(t)
            return rhs
    return []


def _type_instance_rhs(body: list[_Token], family: str) -> list[_Token]:
    """``type TemplateContext X = Ctx`` inside an instance -> ``Ctx``."""
    for i, token in enumerate(body[:-1]):
        if token.text == "type" and body[i + 1].bare == family:
            line = [t for t in body[i:] if t.line == token.line]
            eq = next((j for j, t in enumerate(line) if t.is_op("=")), -1)
            return line[eq + 1 :] if eq >= 0 else []
    return []

"""Which DSL files the model sees for a finding, and how much of each: chosen by code.

The model only gets what code decided is relevant to the finding's anchors (see
:mod:`~micro_gastown.refine.selection`), most important first:

* ``slow_llm``, ``token_bloat``: the node's template, the context record its template
  renders (the record's fields are the template's variables), the node's handler;
* ``failed_transition``, ``repeated_error``: for a schema error, the node's schema type,
  its template and its handler; for any other error, the handler (where retries and
  fallbacks live), then the template;
* ``dead_path``: the graph record's lines for the edge's source node and its neighbours,
  the type synonym declaring the edge when there is one, and the source's handler (the
  routing that never chooses the edge);
* ``effect_failure``: the handlers of the nodes using the effect, and the effect's
  declaration read-only.

A file named ``Effects.hs`` (ExoMonad's core effect module) is never editable, and
nothing under a ``vendor`` directory is looked at. ``allowed_paths`` are exactly the
editable files shown: the guardrails refuse an edit anywhere else.

Every text is the file's exact text, or an exact run of whole lines with its line range
(the model copies ``old_text`` from it). Files are trimmed to the token budget: whole
when they fit, else excerpts centred on the relevant declaration (least important files
first), else the least important files are dropped, each drop recorded in ``omitted``.
Files are read as the checkout holds them: regular files only, no symlink anywhere on the
way, at most ``MAX_FILE_BYTES``, UTF-8; a file that fails is omitted with why.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from micro_gastown.dsl import strip_comments
from micro_gastown.dsl.model import DslModel, Edge, Node, TemplateBinding
from micro_gastown.dsl.sources import SKIPPED_DIRS
from micro_gastown.llm.base import estimate_tokens
from micro_gastown.refine.selection import Anchors, Candidate
from micro_gastown.report.model import PatternType

__all__ = [
    "MAX_FILE_BYTES",
    "ContextFile",
    "FindingContext",
    "OmittedFile",
    "build_context",
]

MAX_FILE_BYTES = 1 << 20
"""A DSL file larger than this (1 MiB) is not read: no prompt could carry it."""

PROTECTED_NAMES = frozenset({"Effects.hs"})
"""File names shown read-only at most: ExoMonad's core effect module."""

_NOT_SEARCHED_DIRS = SKIPPED_DIRS | {"vendor"}

_COMMENT_LINES_ABOVE = 8
"""Comment lines right above a declaration kept with it (its Haddock)."""

_LINES_BELOW = 1


@dataclass(frozen=True, slots=True)
class ContextFile:
    """One file (or an exact excerpt of it) the model is shown.

    ``path`` is repo-relative POSIX, as in the DSL model; ``reason`` says why code chose
    it; ``text`` is the file's exact text, or lines ``start_line``..``end_line`` (1-based,
    inclusive) of it, newlines kept; ``tokens`` an estimate of ``text``; ``editable``
    whether the model may change it.
    """

    path: str
    reason: str
    text: str
    tokens: int
    editable: bool
    start_line: int
    end_line: int
    total_lines: int

    @property
    def is_excerpt(self) -> bool:
        return self.start_line > 1 or self.end_line < self.total_lines


@dataclass(frozen=True, slots=True)
class OmittedFile:
    """A file code chose but did not show: ``reason`` why it was chosen, ``why`` why not
    shown (over the budget, unreadable, not found)."""

    path: str
    reason: str
    why: str


@dataclass(frozen=True, slots=True)
class FindingContext:
    """What the model sees of the checkout for one finding. ``files`` is empty when not
    even the most important file fits the budget: there is then nothing to send."""

    files: tuple[ContextFile, ...]
    allowed_paths: frozenset[str]
    omitted: tuple[OmittedFile, ...] = ()

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.files)


def build_context(
    candidate: Candidate, dsl: DslModel, root: Path, *, token_budget: int
) -> FindingContext:
    """The files to show for ``candidate``, read from the checkout at ``root`` and trimmed
    to ``token_budget`` tokens in all.

    ``dsl`` is the checkout's model (read from ``root``); the candidate's anchors are
    looked up in it again by name, so a candidate selected on one copy of the checkout
    (the user's) is shown from another (the worktree).
    """
    anchors = _reanchored(candidate.anchors, dsl)
    index = _HaskellIndex(root)
    wanted = _merged(list(_choose(candidate.kind, anchors, dsl, index)))
    omitted: list[OmittedFile] = []
    loaded: list[_Loaded] = []
    for item in wanted:
        text = _read_checkout_file(root, item.path)
        if isinstance(text, _Unreadable):
            omitted.append(OmittedFile(item.path, item.reason, text.why))
        else:
            loaded.append(_Loaded(item, text, _renderings(item, text)))
    chosen = _fit(loaded, token_budget)
    files: list[ContextFile] = []
    for entry, level in zip(loaded, chosen, strict=True):
        if level is None:
            omitted.append(
                OmittedFile(
                    entry.item.path,
                    entry.item.reason,
                    f"over the token budget ({token_budget} tokens for all files)",
                )
            )
        else:
            files.append(entry.renderings[level])
    allowed = frozenset(f.path for f in files if f.editable)
    return FindingContext(tuple(files), allowed, tuple(omitted))


# --------------------------------------------------------------------------------------
# What to show, per pattern type
# --------------------------------------------------------------------------------------

Span = tuple[int, int]
"""1-based, inclusive line range."""


@dataclass(frozen=True, slots=True)
class _Wanted:
    path: str
    reason: str
    editable: bool
    spans: tuple[Span, ...] = ()
    """The relevant declarations, most relevant first; empty: the whole file is the point."""


def _reanchored(anchors: Anchors, dsl: DslModel) -> Anchors:
    """``anchors`` with nodes, edge and template taken from ``dsl`` where it has them."""
    nodes = tuple(
        next((n for n in dsl.nodes() if (n.graph, n.name) == (old.graph, old.name)), old)
        for old in anchors.nodes
    )
    edge = anchors.edge
    if edge is not None:
        edge = next(
            (
                e
                for e in dsl.edges()
                if (e.graph, e.source, e.target) == (edge.graph, edge.source, edge.target)
            ),
            edge,
        )
    template = anchors.template
    if template is not None:
        template = dsl.template_binding(template.type_name) or template
    return Anchors(
        graph=anchors.graph,
        nodes=nodes,
        edge=edge,
        effect=anchors.effect,
        template=template,
        schema_type=anchors.schema_type,
        schema_error=anchors.schema_error,
    )


def _choose(
    kind: PatternType, anchors: Anchors, dsl: DslModel, index: _HaskellIndex
) -> Iterator[_Wanted]:
    node = anchors.node
    if kind in (PatternType.SLOW_LLM, PatternType.TOKEN_BLOAT):
        yield from _template(node, anchors.template)
        yield from _context_record(anchors.template, index)
        yield from _handler(node, index, f"the handler of node {node.name}")
    elif kind in (PatternType.FAILED_TRANSITION, PatternType.REPEATED_ERROR):
        handler = _handler(node, index, f"the handler of node {node.name}")
        if anchors.schema_error:
            yield from _schema(node, anchors, index)
            yield from _template(node, anchors.template)
            yield from handler
        else:
            yield from handler
            yield from _template(node, anchors.template)
    elif kind is PatternType.DEAD_PATH and anchors.edge is not None:
        edge = anchors.edge
        yield from _graph_lines(node, edge, dsl, index)
        if edge.declared_in.path != _graph_path(dsl, edge.graph):
            yield _Wanted(
                edge.declared_in.path,
                f"the type synonym declaring the edge {edge.source} -> {edge.target} "
                f"({edge.declared_in})",
                True,
                (index.declaration_at(edge.declared_in.path, edge.declared_in.line),),
            )
        yield from _handler(
            node,
            index,
            f"the handler of node {node.name}: its routing never chooses {edge.target}",
        )
    elif kind is PatternType.EFFECT_FAILURE and anchors.effect is not None:
        for user in anchors.nodes:
            yield from _handler(
                user, index, f"the handler of node {user.name}, which uses {anchors.effect}"
            )
        for path, span in index.type_declarations(anchors.effect)[:1]:
            yield _Wanted(
                path,
                f"the declaration of the effect {anchors.effect} (read-only: change how "
                "handlers use it, not the effect)",
                False,
                (span,),
            )


def _template(node: Node, binding: TemplateBinding | None) -> Iterator[_Wanted]:
    if binding is None or not binding.file:
        return
    yield _Wanted(
        binding.file,
        f"the template of node {node.name} (Template {binding.type_name} -> {binding.file})",
        True,
    )


def _context_record(binding: TemplateBinding | None, index: _HaskellIndex) -> Iterator[_Wanted]:
    if binding is None or not binding.context:
        return
    for path, span in index.type_declarations(binding.context, prefer="Context.hs")[:1]:
        yield _Wanted(
            path,
            f"the context record {binding.context} that {binding.file or binding.type_name} "
            "renders: its fields are the only variables the template may use",
            True,
            (span,),
        )


def _schema(node: Node, anchors: Anchors, index: _HaskellIndex) -> Iterator[_Wanted]:
    schema = anchors.schema_type
    if schema is None:
        return
    for path, span in index.type_declarations(schema, prefer="Types.hs")[:1]:
        yield _Wanted(
            path,
            f"the schema type {schema} of node {node.name} (its errors look like schema errors)",
            True,
            (span,),
        )


def _handler(node: Node, index: _HaskellIndex, reason: str) -> Iterator[_Wanted]:
    found = index.handler(node.graph, node.name)
    if found is not None:
        path, spans, names = found
        shown = f" ({', '.join(names)})" if names else ""
        yield _Wanted(path, reason + shown, True, spans)


def _graph_path(dsl: DslModel, graph: str) -> str | None:
    return next((g.path for g in dsl.graphs if g.name == graph), None)


def _graph_lines(node: Node, edge: Edge, dsl: DslModel, index: _HaskellIndex) -> Iterator[_Wanted]:
    """The record lines of ``node`` in its graph, then of its neighbours in the record and
    of the edge's target: the Goto lives in the source's field (or its synonym)."""
    decl = next((g for g in dsl.graphs if g.name == node.graph), None)
    if decl is None:
        return
    path = node.declared_in.path
    fields = sorted(
        (n for n in decl.nodes if n.declared_in.path == path), key=lambda n: n.declared_in.line
    )
    spans = index.field_spans(path, [n.declared_in.line for n in fields])
    by_name = {n.name: span for n, span in zip(fields, spans, strict=True)}
    own = by_name.get(node.name)
    if own is None:
        return
    at = [n.name for n in fields].index(node.name)
    neighbours = (spans[max(at - 1, 0)][0], spans[min(at + 1, len(spans) - 1)][1])
    target = by_name.get(edge.target, own)
    yield _Wanted(
        path,
        f"the graph {node.graph}: node {node.name}, its neighbours and the edge "
        f"{edge.source} -> {edge.target} ({edge.declared_in})",
        True,
        (own, neighbours, target),
    )


def _merged(wanted: Sequence[_Wanted]) -> list[_Wanted]:
    """One entry per path, at its first (most important) place; reasons joined, spans in
    order, read-only when any reason says so."""
    merged: dict[str, _Wanted] = {}
    for item in wanted:
        seen = merged.get(item.path)
        if seen is None:
            merged[item.path] = item
            continue
        whole = not seen.spans or not item.spans
        merged[item.path] = _Wanted(
            item.path,
            f"{seen.reason}; {item.reason}",
            seen.editable and item.editable,
            () if whole else seen.spans + item.spans,
        )
    return [
        item if PurePosixPath(item.path).name not in PROTECTED_NAMES else _read_only(item)
        for item in merged.values()
    ]


def _read_only(item: _Wanted) -> _Wanted:
    reason = item.reason if not item.editable else f"{item.reason} (read-only: a core module)"
    return _Wanted(item.path, reason, False, item.spans)


# --------------------------------------------------------------------------------------
# Finding declarations in the Haskell sources (comments blanked, lines kept)
# --------------------------------------------------------------------------------------

_NOT_FUNCTIONS = frozenset(
    {
        "import",
        "module",
        "data",
        "type",
        "newtype",
        "instance",
        "class",
        "deriving",
        "infix",
        "infixl",
        "infixr",
        "default",
        "foreign",
        "pattern",
    }
)
_HEAD_RE = re.compile(r"([a-z_][\w']*)")
_VARID_RE = re.compile(r"(?<![\w'.])([a-z_][\w']*)(?![\w'])")
_FIELD_RE = re.compile(r"\s*([a-z_][\w']*)\s*=(?![=>])\s*(.*)", re.DOTALL)


@dataclass(slots=True)
class _Source:
    path: str
    text: str
    stripped_lines: list[str]
    _starts: list[int] | None = None

    def starts(self) -> list[int]:
        """1-based lines that start a top-level declaration (code in column 0)."""
        if self._starts is None:
            self._starts = [i + 1 for i, line in enumerate(self.stripped_lines) if line[:1].strip()]
        return self._starts

    def span_from(self, start: int) -> Span:
        """The declaration starting at ``start``: to the last code line before the next."""
        nxt = next((s for s in self.starts() if s > start), len(self.stripped_lines) + 1)
        end = nxt - 1
        while end > start and not self.stripped_lines[end - 1].strip():
            end -= 1
        return (start, end)


@dataclass(slots=True)
class _HaskellIndex:
    """The checkout's ``.hs`` files (vendored and build directories skipped), read on
    demand through the same safe reader as the context files."""

    root: Path
    _paths: list[str] | None = None
    _sources: dict[str, _Source | None] = field(default_factory=dict)

    def paths(self) -> list[str]:
        if self._paths is None:
            found: list[str] = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if d not in _NOT_SEARCHED_DIRS)
                base = Path(dirpath)
                found.extend(
                    (base / name).relative_to(self.root).as_posix()
                    for name in sorted(filenames)
                    if name.endswith(".hs")
                )
            self._paths = found
        return self._paths

    def source(self, path: str) -> _Source | None:
        if path not in self._sources:
            text = _read_checkout_file(self.root, path)
            self._sources[path] = (
                None
                if isinstance(text, _Unreadable)
                else _Source(path, text, _line_list(strip_comments(text)))
            )
        return self._sources[path]

    def _ordered(self, prefer: str | None) -> list[str]:
        """Paths, those named ``prefer`` first (stable otherwise)."""
        paths = self.paths()
        if prefer is None:
            return paths
        return sorted(paths, key=lambda p: PurePosixPath(p).name != prefer)

    def declaration_at(self, path: str, line: int) -> Span:
        """The top-level declaration holding ``line`` (the line alone if none)."""
        source = self.source(path)
        if source is None:
            return (line, line)
        start = max((s for s in source.starts() if s <= line), default=line)
        span = source.span_from(start)
        return span if span[1] >= line else (line, line)

    def type_declarations(self, name: str, *, prefer: str | None = None) -> list[tuple[str, Span]]:
        """Where ``data``/``newtype``/``type`` ``name`` is declared: the declaration and
        the instances for it right after it."""
        pattern = re.compile(rf"(?:data|newtype|type)\s+(?!family\b|instance\b){re.escape(name)}\b")
        found = []
        for path in self._ordered(prefer):
            source = self.source(path)
            if source is None or name not in source.text:
                continue
            for start in source.starts():
                if pattern.match(source.stripped_lines[start - 1]):
                    found.append((path, _with_instances(source, name, source.span_from(start))))
        return found

    def field_spans(self, path: str, lines: Sequence[int]) -> list[Span]:
        """For record fields starting at ``lines`` (sorted), each field's lines: up to the
        next field, without trailing blank and comment lines."""
        source = self.source(path)
        if source is None or not lines:
            return [(line, line) for line in lines]
        spans = []
        ends = [nxt - 1 for nxt in lines[1:]] + [self.declaration_at(path, lines[-1])[1]]
        for line, end in zip(lines, ends, strict=True):
            while end > line and not source.stripped_lines[end - 1].strip():
                end -= 1
            spans.append((line, end))
        return spans

    def handler(self, graph: str, node: str) -> tuple[str, tuple[Span, ...], list[str]] | None:
        """The handler of ``node``: the functions its field of the handler record (``graph
        { node = ... }``) names, as (path, spans, names); else the top-level functions
        named after the node in a ``*Handler*`` file."""
        opener = re.compile(rf"(?<![\w'.]){re.escape(graph)}\s*\{{")
        for path in self._ordered(None):
            source = self.source(path)
            if source is None or graph not in source.text:
                continue
            stripped = "".join(source.stripped_lines)
            for match in opener.finditer(stripped):
                expr = _record_field(stripped, match.end() - 1, node)
                if expr is None:
                    continue
                text, offset = expr
                line = stripped.count("\n", 0, offset) + 1
                functions = _top_level_functions(source)
                names = list(dict.fromkeys(n for n in _VARID_RE.findall(text) if n in functions))
                spans = tuple(functions[n] for n in names)
                if spans:
                    whole = (min(s[0] for s in spans), max(s[1] for s in spans))
                    return path, (spans[0], whole), names
                return path, ((line, line),), []
        for path in self._ordered(None):
            if "Handler" not in PurePosixPath(path).name:
                continue
            source = self.source(path)
            if source is None:
                continue
            functions = _top_level_functions(source)
            names = [n for n in functions if n.startswith(node)]
            if names:
                spans = tuple(functions[n] for n in names)
                return path, (spans[0], (spans[0][0], max(s[1] for s in spans))), names
        return None


def _with_instances(source: _Source, name: str, span: Span) -> Span:
    """``span`` extended over the ``instance ... name ...`` declarations right after it
    (a context record's ``ToGVal`` instance says which variables the template sees)."""
    starts = source.starts()
    mention = re.compile(rf"(?<![\w'.]){re.escape(name)}(?![\w'])")
    end = span[1]
    for start in (s for s in starts if s > span[1]):
        line = source.stripped_lines[start - 1]
        if not line.startswith(("instance", "deriving instance")):
            break
        decl = source.span_from(start)
        head = "".join(source.stripped_lines[start - 1 : decl[1]]).split(" where", 1)[0]
        if not mention.search(head):
            break
        end = decl[1]
    return (span[0], end)


def _top_level_functions(source: _Source) -> dict[str, Span]:
    """Top-level value names -> the lines of their signature and equations."""
    spans: dict[str, Span] = {}
    for start in source.starts():
        match = _HEAD_RE.match(source.stripped_lines[start - 1])
        if match is None or match.group(1) in _NOT_FUNCTIONS:
            continue
        name = match.group(1)
        decl = source.span_from(start)
        seen = spans.get(name)
        spans[name] = decl if seen is None else (seen[0], max(seen[1], decl[1]))
    return spans


def _record_field(text: str, brace: int, name: str) -> tuple[str, int] | None:
    """In the record construction whose ``{`` is at ``brace``, the expression of the
    field ``name = expr`` and its offset; None when the braces hold no such field."""
    depth = 0
    start = brace + 1
    i = brace
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return _field_in(text, start, i, name)
        elif ch == "," and depth == 1:
            found = _field_in(text, start, i, name)
            if found is not None:
                return found
            start = i + 1
        i += 1
    return None


def _field_in(text: str, start: int, end: int, name: str) -> tuple[str, int] | None:
    match = _FIELD_RE.fullmatch(text, start, end)
    if match is None or match.group(1) != name:
        return None
    return match.group(2), match.start(1)


def _string_end(text: str, at: int) -> int:
    i = at + 1
    while i < len(text) and text[i] not in '"\n':
        i += 2 if text[i] == "\\" else 1
    return i + 1


# --------------------------------------------------------------------------------------
# Excerpts and the budget
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded:
    item: _Wanted
    text: str
    renderings: tuple[ContextFile, ...]
    """Largest first: the whole file, then ever smaller excerpts."""


def _renderings(item: _Wanted, text: str) -> tuple[ContextFile, ...]:
    lines = _line_list(text)
    total = len(lines)
    if total == 0:
        return (ContextFile(item.path, item.reason, "", 0, item.editable, 1, 0, 0),)
    ranges: list[Span] = [(1, total)]
    if item.spans:
        spans = [(max(1, a), min(total, b)) for a, b in item.spans if a <= total]
        if spans:
            union = (min(a for a, _ in spans), max(b for _, b in spans))
            ranges += [_padded(union, lines), _padded(spans[0], lines), spans[0]]
    else:
        ranges += [(1, end) for end in _halvings(total)]
    out: dict[Span, ContextFile] = {}
    for start, end in ranges:
        if (start, end) in out:
            continue
        excerpt = "".join(lines[start - 1 : end])
        out[(start, end)] = ContextFile(
            path=item.path,
            reason=item.reason,
            text=excerpt,
            tokens=estimate_tokens(excerpt),
            editable=item.editable,
            start_line=start,
            end_line=end,
            total_lines=total,
        )
    return tuple(sorted(out.values(), key=lambda f: -len(f.text)))


def _line_list(text: str) -> list[str]:
    """Lines split at ``\\n`` only, as the DSL reader counts them, newlines kept."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _padded(span: Span, lines: list[str]) -> Span:
    """``span`` with the comment lines right above it and a line below."""
    start, end = span
    above = 0
    while start > 1 and above < _COMMENT_LINES_ABOVE:
        previous = lines[start - 2].strip()
        if not previous.startswith(("--", "{-")):
            break
        start -= 1
        above += 1
    return (start, min(len(lines), end + _LINES_BELOW))


def _halvings(total: int) -> list[int]:
    """Ever shorter heads of a file with no focus (a template): half, a quarter, ..."""
    ends = []
    end = total // 2
    while end >= 1:
        ends.append(end)
        end //= 2
    return ends


def _fit(loaded: Sequence[_Loaded], budget: int) -> list[int | None]:
    """Which rendering of each file (None: dropped) so that all fit ``budget``.

    Shrink the least important files first, to excerpts before any is dropped; then give
    the most important files back as much as still fits.
    """
    levels: list[int | None] = [0] * len(loaded)

    def size(i: int, level: int | None) -> int:
        return 0 if level is None else loaded[i].renderings[level].tokens

    def total() -> int:
        return sum(size(i, level) for i, level in enumerate(levels))

    for i in reversed(range(len(loaded))):
        while total() > budget and (level := levels[i]) is not None:
            if level + 1 >= len(loaded[i].renderings):
                break
            levels[i] = level + 1
    for i in reversed(range(len(loaded))):
        if total() > budget:
            levels[i] = None
    for i in range(len(loaded)):
        for level in range(len(loaded[i].renderings)):
            current = levels[i]
            if current is not None and level >= current:
                break
            if total() - size(i, current) + size(i, level) <= budget:
                levels[i] = level
                break
    return levels


# --------------------------------------------------------------------------------------
# Reading a checkout file safely
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unreadable:
    why: str


def _read_checkout_file(root: Path, relative: str) -> str | _Unreadable:
    """The UTF-8 text of the regular file ``relative`` under ``root``.

    No symlink anywhere on the way (a checkout's symlink may point anywhere), no FIFO or
    device (opened non-blocking, checked with ``fstat``), at most ``MAX_FILE_BYTES``.
    """
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        return _Unreadable("is not a path inside the checkout")
    current = root
    try:
        for part in parts:
            current = current / part
            mode = os.lstat(current).st_mode
            if stat.S_ISLNK(mode):
                return _Unreadable("is a symlink (or lies behind one): not read")
        if not stat.S_ISREG(mode):
            return _Unreadable("is not a regular file: not read")
        fd = os.open(current, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return _Unreadable("is not a regular file: not read")
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return _Unreadable("does not exist in the checkout")
        if exc.errno == errno.ELOOP:
            return _Unreadable("is a symlink (or lies behind one): not read")
        return _Unreadable(f"cannot be read ({exc.strerror or exc})")
    if len(raw) > MAX_FILE_BYTES:
        return _Unreadable(f"is larger than {MAX_FILE_BYTES} bytes: not read")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Unreadable("is not UTF-8 text: not read")

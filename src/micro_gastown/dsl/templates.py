"""Read template bindings: ``TemplateDef`` instances and ``typedTemplateFile`` splices.

A node's ``Template X`` annotation names a type; the Jinja file it renders lives behind a
``TemplateDef`` instance in ``Templates.hs``: an inline splice, a compiled value it names,
or the one splice for its context type. Detectors need that file to call a template
bloated, so this module pairs instances with splices and lists the unclaimed splices too.
A template name or file holding a character that does not show is reported, not read.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from micro_gastown.dsl.lexer import (
    _declarations,
    _render,
    _string_value,
    _Tok,
    _Token,
    _unwrap_parens,
)
from micro_gastown.dsl.model import DslProblemCode, SourceLocation, TemplateBinding
from micro_gastown.dsl.names import describe_char, first_hidden, visible
from micro_gastown.dsl.sources import _SourceSet

# What marks a Haskell package root: template paths are relative to it (Template Haskell
# runs ``typedTemplateFile`` from the package directory).
_PACKAGE_MARKERS = ("*.cabal", "package.yaml")

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
            and (c := _compiled(decl, module.path, package, _bound_var(decl), sources)) is not None
        ]
        used: set[int] = set()
        for decl in decls:
            binding = _instance_binding(decl, module.path, package, compiled, used, sources)
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


def _visible_string(token: _Token, path: str, sources: _SourceSet) -> str | None:
    """A string literal's value, or None (reported) when it holds a hidden character."""
    value = _string_value(token)
    unseen = first_hidden(value)
    if unseen is None:
        return value
    sources.note(
        path,
        DslProblemCode.INVISIBLE_CHARACTER,
        token.line,
        f"string {visible(value)!r} contains {describe_char(unseen)}, which does not show: skipped",
    )
    return None


def _compiled(
    tokens: list[_Token], path: str, package: str, var: str | None, sources: _SourceSet
) -> _Compiled | None:
    at = next((i for i, t in enumerate(tokens) if t.bare == "typedTemplateFile"), -1)
    if at < 0:
        return None
    rest = [t for t in tokens[at + 1 :] if t.kind is not _Tok.TICK]
    if len(rest) < 2 or rest[1].kind is not _Tok.STRING:
        return None
    written = _visible_string(rest[1], path, sources)
    if written is None:
        return None
    context = rest[0].bare if rest[0].is_conid else None
    file = _repo_file(package, written)
    return _Compiled(var, context, file, SourceLocation(path, tokens[at].line))


def _instance_binding(
    decl: list[_Token],
    path: str,
    package: str,
    compiled: list[_Compiled],
    used: set[int],
    sources: _SourceSet,
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
    template_name = (
        _visible_string(name[0], path, sources) if name and name[0].kind is _Tok.STRING else None
    )
    context_rhs = _type_instance_rhs(body, "TemplateContext")
    context = _render(_unwrap_parens(context_rhs)) if context_rhs else None
    # The file: an inline splice, else the compiled value it names, else by context type.
    ref = _binding_rhs(body, "templateCompiled")
    inline = _compiled(ref, path, package, None, sources)
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

"""The static check of a refined checkout: what ExoMonad's compile would reject, found early.

ExoMonad type-checks a template when it compiles: ``typedTemplateFile ''FaqContext
"templates/faq.jinja"`` fails the build when the Jinja file does not parse or reads a
variable that is not a field of ``FaqContext``; a ``Goto "x"`` to a field the graph record
lacks does not compile either. Without GHC on the machine those mistakes would go out
unchecked, so this check repeats them in Python on the worktree after the edits: on every
changed template, and on every template whose binding or context record an edited ``.hs``
file declares (a renamed field breaks a template nobody touched; such a template is
blamed only for variables it did not already lack before the change). It adds two rules
of refine's own: an edited ``.hs`` file must not make the DSL reader report new
problems, and no node may disappear (refine proposes fixes, never deletions).

Templates are parsed with ``jinja2`` (ExoMonad renders with Ginger, a Jinja dialect) in a
sandboxed environment, and never rendered. The environment has no globals: Jinja's own
(``range``, ``dict``, ``namespace``...) do not exist in Ginger, so a template using them
must fail here as it would fail there. The only name allowed without being a field is
Ginger's ``null`` literal (``GINGER_NAMES``); ``loop`` and names the template sets itself
are not variables of the context and Jinja already leaves them out. Filters and tests
(``x|upper``) are not checked: the build does.

Nothing passes in silence: a changed template with no bound context record, or one whose
record cannot be read, fails with "cannot check"; so does a template too deep to parse.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateSyntaxError, meta
from jinja2.nodes import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from micro_gastown.dsl import DslModel, read_dsl
from micro_gastown.dsl.records import RecordDecl, RecordFinder
from micro_gastown.errors import DslError
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.refine.model import CheckOutcome, CheckResult

__all__ = ["GINGER_NAMES", "STATIC_CHECK", "TEMPLATE_SUFFIXES", "static_check"]

STATIC_CHECK = "static"
"""The ``name`` of the static check's ``CheckResult``."""

GINGER_NAMES = frozenset({"null"})
"""Names a template may read that are no context field: Ginger's ``null`` literal, which
Jinja parses as a variable (``none``/``true``/``false`` are literals to both)."""

TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
"""A changed file with one of these suffixes is checked as a template even when nothing
binds it (and then fails: "no context record bound to it")."""

MAX_TEMPLATE_BYTES = 1_000_000
"""Larger templates are not parsed (the check fails): no prompt template is this big."""

MAX_INCLUDE_DEPTH = 8
"""Templates included from included templates are followed this deep, then the check fails."""


def static_check(root: Path, changed: Sequence[str], before: DslModel) -> CheckResult:
    """Check the checkout at ``root`` (the worktree, after the edits) against ``before``,
    the DSL model of the untouched checkout (``before.root`` is read again: templates the
    edits did not touch are blamed only for what changed); ``changed`` are the
    repo-relative POSIX paths the edits touched. FAILED with one message per problem, else
    PASSED with messages saying what was checked; never raises for anything the checkout
    holds."""
    started = time.monotonic()
    check = _Check()
    try:
        after = read_dsl(root)
    except DslError as exc:
        check.fail(f"the changed checkout cannot be read: {exc}")
        return check.result(started)
    templates = _Templates(after)
    bound = {binding.file for binding in after.templates if binding.file is not None}
    changed_templates = {p for p in changed if p.endswith(TEMPLATE_SUFFIXES) or p in bound}
    changed_hs = {p for p in changed if p.endswith(".hs") and p not in changed_templates}
    for path in dict.fromkeys(changed):
        if path in changed_templates:
            _check_template(check, templates, path)
        elif path in changed_hs:
            _check_new_problems(check, path, before, after)
    if changed_hs:
        _check_unchanged_templates(
            check, templates, _Templates(before), changed_hs, skip=changed_templates
        )
    _check_edges(check, before, after)
    _check_nodes(check, before, after)
    return check.result(started)


@dataclass(slots=True)
class _Check:
    failures: list[str] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(neutralize_line(message))

    def passed(self, message: str) -> None:
        self.passes.append(neutralize_line(message))

    def result(self, started: float) -> CheckResult:
        duration = time.monotonic() - started
        if self.failures:
            more = len(self.failures) - 1
            reason = self.failures[0] + (f" (and {more} more)" if more else "")
            messages = tuple(self.failures)
            return CheckResult(
                STATIC_CHECK,
                CheckOutcome.FAILED,
                output="\n".join(messages),
                reason=reason,
                duration_s=duration,
                messages=messages,
            )
        messages = tuple(self.passes)
        return CheckResult(
            STATIC_CHECK,
            CheckOutcome.PASSED,
            output="\n".join(messages),
            duration_s=duration,
            messages=messages,
        )


# --------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------


def _environment() -> SandboxedEnvironment:
    """Parse-only: no loader, no globals (Ginger has none of Jinja's), nothing rendered."""
    environment = SandboxedEnvironment(autoescape=False)
    environment.globals.clear()
    return environment


class _Unchecked(Exception):
    """A template could not be checked; the message says why (it becomes a failure)."""


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A template's root variables against one bound context record."""

    record: RecordDecl
    used: tuple[str, ...]
    """Variables that are fields of the record, sorted."""
    unknown: tuple[str, ...]
    """Variables that are not (nor in ``GINGER_NAMES``), sorted."""

    def failure(self, path: str, variable: str) -> str:
        fields = ", ".join(self.record.field_names) or "none"
        return (
            f"{path}: variable `{variable}` is not a field of {self.record.name} (fields: {fields})"
        )

    def summary(self, path: str) -> str:
        count = len(self.used)
        if count == 1:
            return f"1 variable of {path} is a field of {self.record.name}"
        return f"{count} variables of {path} are fields of {self.record.name}"


class _Templates:
    """Checks templates of one checkout against the context records its model binds."""

    def __init__(self, model: DslModel) -> None:
        self.root = model.root
        self.model = model
        self.records = RecordFinder(model.root)
        self.environment = _environment()

    def verdicts(self, path: str) -> list[_Verdict]:
        """One verdict per context record bound to ``path``; ``_Unchecked`` when the
        template or a record cannot be read, or nothing binds it."""
        variables = sorted(_Variables(self.root, self.environment).of(path))
        contexts = _bound_contexts(path, self.model)
        if not contexts:
            raise _Unchecked(f"{path}: cannot check: no context record bound to it")
        verdicts = []
        for context, near in contexts.items():
            record = self.record(context, near)
            if record is None:
                shown = context or "its context type"
                raise _Unchecked(
                    f"{path}: cannot check: {shown} is not a record with one constructor "
                    "declared in the checkout"
                )
            fields = set(record.field_names)
            used = tuple(v for v in variables if v in fields)
            unknown = tuple(v for v in variables if v not in fields and v not in GINGER_NAMES)
            verdicts.append(_Verdict(record, used, unknown))
        return verdicts

    def record(self, context: str, near: str) -> RecordDecl | None:
        if not context:
            return None
        try:
            return self.records.find(context, near=near)
        except DslError as exc:
            raise _Unchecked(f"cannot check the record {context}: {exc}") from None

    def bound_files(self) -> dict[str, tuple[str, str]]:
        """Every bound template file -> (its first context type, the binding's file)."""
        bound: dict[str, tuple[str, str]] = {}
        for binding in self.model.templates:
            if binding.file is not None and binding.context is not None:
                bound.setdefault(
                    binding.file, (_type_head(binding.context), binding.declared_in.path)
                )
        return bound


def _check_template(check: _Check, templates: _Templates, path: str) -> None:
    """A changed template: every variable it reads is a field of its record."""
    try:
        verdicts = templates.verdicts(path)
    except _Unchecked as exc:
        check.fail(str(exc))
        return
    for verdict in verdicts:
        for variable in verdict.unknown:
            check.fail(verdict.failure(path, variable))
        if not verdict.unknown:
            check.passed(verdict.summary(path))


def _check_unchanged_templates(
    check: _Check, after: _Templates, before: _Templates, changed_hs: set[str], skip: set[str]
) -> None:
    """Templates the edits did not touch but whose binding or context record they did (a
    field renamed in Context.hs): blamed only for what the change broke, so a template
    that already failed this check before does not block every Haskell edit."""
    for path, (context, near) in after.bound_files().items():
        if path in skip:
            continue
        try:
            record = after.record(context, near)
        except _Unchecked:
            record = None
        affected = near in changed_hs or record is None or record.declared_in.path in changed_hs
        if not affected:
            continue
        try:
            old_unknown = {v for verdict in before.verdicts(path) for v in verdict.unknown}
        except _Unchecked:
            continue  # could not be checked before the change either: not its doing
        try:
            verdicts = after.verdicts(path)
        except _Unchecked as exc:
            check.fail(f"{exc} (it could be checked before the change)")
            continue
        for verdict in verdicts:
            new = [v for v in verdict.unknown if v not in old_unknown]
            for variable in new:
                check.fail(verdict.failure(path, variable))
            if not new:
                check.passed(verdict.summary(path))


def _bound_contexts(path: str, model: DslModel) -> dict[str, str]:
    """Context type (unqualified head, "" when unreadable) -> the file binding it, for every
    binding of ``path``: an instance's ``TemplateContext`` or the compiled splice's type."""
    contexts: dict[str, str] = {}
    for binding in model.templates:
        if binding.file == path and binding.context is not None:
            contexts.setdefault(_type_head(binding.context), binding.declared_in.path)
    return contexts


def _type_head(type_text: str) -> str:
    """``C.FaqContext`` -> ``FaqContext``; ``(Ctx a)`` -> ``Ctx``; "" if it names no type."""
    words = type_text.replace("(", " ").replace(")", " ").split()
    head = words[0].rsplit(".", 1)[-1] if words else ""
    return head if head[:1].isupper() else ""


@dataclass(slots=True)
class _Variables:
    """The root variables a template reads, its includes' too (they share its context)."""

    root: Path
    environment: SandboxedEnvironment
    seen: set[str] = field(default_factory=set)

    def of(self, path: str, depth: int = 0) -> set[str]:
        if path in self.seen:
            return set()
        self.seen.add(path)
        tree = self._parse(path)
        try:
            variables = set(meta.find_undeclared_variables(tree))
            included = list(meta.find_referenced_templates(tree))
        except RecursionError:
            raise _Unchecked(f"{path}: cannot check: nested too deeply") from None
        for name in included:
            if name is None:
                raise _Unchecked(
                    f"{path}: cannot check: it includes a template named by an expression"
                )
            if depth >= MAX_INCLUDE_DEPTH:
                raise _Unchecked(
                    f"{path}: cannot check: includes nested more than {MAX_INCLUDE_DEPTH} deep"
                )
            variables |= self.of(self._resolve(path, name), depth + 1)
        return variables

    def _parse(self, path: str) -> JinjaTemplate:
        source = _read_template(self.root, path)
        try:
            return self.environment.parse(source)
        except TemplateSyntaxError as exc:
            raise _Unchecked(f"{path}:{exc.lineno}: {exc.message}") from None
        except RecursionError:
            raise _Unchecked(f"{path}: cannot check: nested too deeply to parse") from None

    def _resolve(self, including: str, name: str) -> str:
        """An included name, beside the including template first, then from the root."""
        for candidate in (posixpath.join(posixpath.dirname(including), name), name):
            normal = posixpath.normpath(candidate)
            if normal.startswith(("../", "/")) or normal == "..":
                continue
            if (self.root / normal).is_file():
                return normal
        raise _Unchecked(f"{including}: cannot check: included template {name!r} not found")


def _read_template(root: Path, path: str) -> str:
    """A template's text, read only if it is a regular UTF-8 file inside ``root``."""
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()):
        raise _Unchecked(f"{path}: cannot check: it is outside the checkout")
    try:
        raw = _read_regular(target)
    except OSError as exc:
        raise _Unchecked(f"{path}: cannot check: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise _Unchecked(f"{path}: cannot check: not UTF-8 text") from None


def _read_regular(path: Path) -> bytes:
    """Non-blocking open and ``fstat``: a FIFO or a device fails at once, never hangs."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > MAX_TEMPLATE_BYTES:
            raise OSError(errno.EFBIG, f"larger than {MAX_TEMPLATE_BYTES} bytes")
        return file.read(MAX_TEMPLATE_BYTES + 1)


# --------------------------------------------------------------------------------------
# Haskell: reader problems, Goto targets, vanished nodes
# --------------------------------------------------------------------------------------


def _check_new_problems(check: _Check, path: str, before: DslModel, after: DslModel) -> None:
    """Problems of a kind the file did not have before (lines move with edits: codes don't)."""
    old_codes = {p.code for p in before.problems if p.location.path == path}
    new = [p for p in after.problems if p.location.path == path and p.code not in old_codes]
    for problem in new:
        check.fail(f"the DSL reader cannot read part of the changed file: {problem}")
    if not new:
        check.passed(f"{path}: no new problems for the DSL reader")


def _check_edges(check: _Check, before: DslModel, after: DslModel) -> None:
    existing = {(e.graph, e.source, e.target) for e in before.edges()}
    checked = 0
    for graph in after.graphs:
        names = [node.name for node in graph.nodes]
        for edge in graph.edges:
            checked += 1
            if edge.target in names:
                continue
            already = (
                " (so it was before the change)"
                if (edge.graph, edge.source, edge.target) in existing
                else ""
            )
            check.fail(
                f'{edge.declared_in}: Goto "{edge.target}" of node {edge.source} names no node '
                f"of graph {graph.name} (nodes: {', '.join(names)}){already}"
            )
    graphs = len(after.graphs)
    check.passed(
        f"{checked} Goto edge{_s(checked)} of {graphs} graph{_s(graphs)} target nodes of "
        "their graph"
    )


def _check_nodes(check: _Check, before: DslModel, after: DslModel) -> None:
    present = {(node.graph, node.name) for node in after.nodes()}
    gone = [node for node in before.nodes() if (node.graph, node.name) not in present]
    for node in gone:
        check.fail(
            f"node {node.name} is gone (graph {node.graph}, declared at {node.declared_in}): "
            "refine must not delete nodes"
        )
    if not gone:
        count = len(before.nodes())
        check.passed(f"all {count} node{_s(count)} of the checkout are still declared")


def _s(count: int) -> str:
    return "" if count == 1 else "s"

"""Wording shared by recommendations: pointing at the DSL file a maintainer would edit."""

from __future__ import annotations

from micro_gastown.dsl import DslModel


def node_hint(dsl: DslModel | None, node: str | None) -> str:
    """`` (template `templates/x.jinja`)`` for a node whose template we can find, else ``""``."""
    if dsl is None or node is None:
        return ""
    for decl in dsl.nodes():
        if decl.name != node or decl.template is None:
            continue
        binding = dsl.template_binding(decl.template)
        if binding is not None and binding.file:
            return f" (template `{binding.file}`, bound as {decl.template})"
        return f" (template type {decl.template}, see {decl.declared_in})"
    return ""

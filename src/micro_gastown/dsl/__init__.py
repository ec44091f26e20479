"""The ExoMonad DSL as micro-gastown sees it: graphs, nodes, edges and template bindings.

``read_dsl`` reads a checkout (SPEC §2); ``micro_gastown.dsl.render`` prints the result.
"""

from micro_gastown.dsl.graph import (
    DslModel,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
    TemplateBinding,
    read_dsl,
    strip_comments,
)

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

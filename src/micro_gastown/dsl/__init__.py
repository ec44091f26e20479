"""The ExoMonad DSL as micro-gastown sees it: graphs, nodes, edges and template bindings.

``read_dsl`` reads a checkout (see docs/dsl.md); ``micro_gastown.dsl.render`` prints the result.
The reader is layered: ``lexer`` (Haskell tokens) feeds ``sources`` (the cached ``.hs``
files), which ``graph`` (records, synonyms, ``read_dsl``) and ``templates`` read into the
value objects of ``model``.
"""

from micro_gastown.dsl.graph import read_dsl
from micro_gastown.dsl.lexer import strip_comments
from micro_gastown.dsl.model import (
    DslModel,
    Edge,
    GraphDecl,
    Node,
    NodeKind,
    SourceLocation,
    TemplateBinding,
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

"""Editing a JSON document by dotted path, for tests that break one field of a file."""

from __future__ import annotations

from typing import Any, Final

DELETE: Final = object()
"""As the value: remove the key instead of replacing it."""


def set_path(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``document`` with the value at ``path`` (``steps.analyze.calls.0.cost_usd``: list
    items by index) replaced, or removed when ``value`` is :data:`DELETE`; in place."""
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return document

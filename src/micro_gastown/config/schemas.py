"""Output schemas (``schemas/<Name>.json``): JSON Schema draft-07 documents using ``$defs``.

A schema is checked against the draft-07 meta-schema (every violation, not just the first),
and every ``$ref`` must point inside the document and resolve there: the runtime validates
model output offline, so a remote or dangling reference would only fail mid-run. Nor may a
``$ref`` lead back to itself without descending into the value (``A`` is ``$ref A``, or
``allOf: [$ref A]``): validating anything against it would recurse forever.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft7Validator

from micro_gastown.config.files import ConfigFileError, read_config_text
from micro_gastown.config.problems import Problem
from micro_gastown.docpath import where_text
from micro_gastown.nesting import too_deep_at, too_deep_message

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def load_schema(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and check one schema file; the document is returned only when it is sound."""
    try:
        text = read_config_text(path)
    except ConfigFileError as exc:
        return None, [Problem(path, "", str(exc))]
    deep = too_deep_at(text)
    if deep is not None:
        return None, [Problem(path, f"line {deep}", too_deep_message())]
    try:
        document = json.loads(text)
    except RecursionError:  # cannot happen below MAX_NESTING; kept as the last guard
        return None, [Problem(path, "", too_deep_message())]
    except json.JSONDecodeError as exc:
        return None, [
            Problem(path, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}")
        ]
    if not isinstance(document, dict):
        return None, [Problem(path, "", "a schema must be a JSON object")]
    problems = check_schema(path, document)
    return (None if problems else document), problems


def check_schema(path: Path, document: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    declared = document.get("$schema")
    if declared is None or str(declared).rstrip("#") != DRAFT_07.rstrip("#"):
        problems.append(Problem(path, "$schema", f"should be {DRAFT_07!r}, got {declared!r}"))
    meta = Draft7Validator(Draft7Validator.META_SCHEMA)
    for error in sorted(meta.iter_errors(document), key=lambda e: list(map(str, e.path))):
        problems.append(Problem(path, where_text(error.path) or "(document)", error.message))
    cycles: set[frozenset[_Loc]] = set()  # each loop once, at its first $ref
    for loc, ref in _refs(document, ()):
        message = _unresolved(document, ref)
        if message:
            problems.append(Problem(path, where_text([*loc, "$ref"]), message))
            continue
        cycle = _ref_cycle(document, loc)
        if cycle is not None and frozenset(cycle) not in cycles:
            cycles.add(frozenset(cycle))
            shown = " -> ".join(_pointer(step) for step in cycle)
            problems.append(
                Problem(
                    path,
                    where_text([*loc, "$ref"]),
                    f"{ref!r} leads back here without descending into the value "
                    f"({shown}): validation would never end",
                )
            )
    return problems


_Loc = tuple[int | str, ...]

# Keywords whose subschemas apply to the same value as their parent (draft-07). A cycle
# through these alone never moves to a smaller value, so validation cannot end.
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")


def _same_value_subschemas(document: dict[str, Any], loc: _Loc) -> list[_Loc]:
    node = _at(document, loc)
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    if isinstance(ref, str):  # in draft-07 a $ref replaces the keywords beside it
        target = _target(document, ref)
        return [target] if target is not None else []
    found: list[_Loc] = []
    for key in _SAME_VALUE_LISTS:
        items = node.get(key)
        if isinstance(items, list):
            found.extend((*loc, key, index) for index in range(len(items)))
    found.extend((*loc, key) for key in _SAME_VALUE_ONE if isinstance(node.get(key), dict))
    dependencies = node.get("dependencies")
    if isinstance(dependencies, dict):
        found.extend(
            (*loc, "dependencies", name)
            for name, sub in dependencies.items()
            if isinstance(sub, dict)
        )
    return found


def _ref_cycle(document: dict[str, Any], start: _Loc) -> list[_Loc] | None:
    """The same-value path from the schema holding a ``$ref`` back to itself, if any.

    Depth-first and iterative; every location is visited once, so it is linear.
    """
    parents: dict[_Loc, _Loc] = {}
    stack = [start]
    seen = {start}
    while stack:
        loc = stack.pop()
        for sub in _same_value_subschemas(document, loc):
            if sub == start:
                cycle = [sub, loc]
                while cycle[-1] != start:
                    cycle.append(parents[cycle[-1]])
                return cycle[::-1]
            if sub not in seen:
                seen.add(sub)
                parents[sub] = loc
                stack.append(sub)
    return None


def _at(document: Any, loc: _Loc) -> Any:
    """The value at a location ``_refs`` or ``_target`` produced (None if there is none)."""
    node = document
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _target(document: dict[str, Any], ref: str) -> _Loc | None:
    """``#/$defs/A`` -> ``("$defs", "A")`` (list indexes as ints, like ``_refs`` gives
    them); None unless it is a local pointer that resolves."""
    pointer = unquote(ref[1:]) if ref.startswith("#") else None
    if pointer is None or (pointer and not pointer.startswith("/")):
        return None
    loc: list[int | str] = []
    node: Any = document
    for token in pointer[1:].split("/") if pointer else ():
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            loc.append(key)
            node = node[key]
        elif isinstance(node, list) and key.isascii() and key.isdigit() and int(key) < len(node):
            loc.append(int(key))
            node = node[int(key)]
        else:
            return None
    return tuple(loc)


def _pointer(loc: _Loc) -> str:
    escaped = (str(key).replace("~", "~0").replace("/", "~1") for key in loc)
    return "#" + "".join(f"/{key}" for key in escaped)


def _refs(node: Any, loc: tuple[int | str, ...]) -> Iterator[tuple[tuple[int | str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield loc, value
            else:
                yield from _refs(value, (*loc, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _refs(item, (*loc, index))


def _unresolved(document: dict[str, Any], ref: str) -> str | None:
    """Why a ``$ref`` does not resolve inside ``document`` (None when it does)."""
    if not ref.startswith("#"):
        return f"{ref!r} points outside this file; only '#/$defs/...' references are allowed"
    node: Any = document
    pointer = unquote(ref[1:])
    if not pointer:
        return None
    if not pointer.startswith("/"):
        return f"{ref!r} is not a JSON pointer"
    for token in pointer[1:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isascii() and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return f"{ref!r} does not resolve: no {key!r}"
    return None


def schema_names(folder: Path) -> frozenset[str]:
    """The schema names a directory provides (file stems)."""
    if not folder.is_dir():
        return frozenset()
    return frozenset(path.stem for path in folder.glob("*.json") if path.is_file())

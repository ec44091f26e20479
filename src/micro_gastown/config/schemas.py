"""Output schemas (``schemas/<Name>.json``): JSON Schema draft-07 documents using ``$defs``.

A schema is checked against the draft-07 meta-schema (every violation, not just the first),
and every ``$ref`` must point inside the document and resolve there: the runtime validates
model output offline, so a remote or dangling reference would only fail mid-run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft7Validator

from micro_gastown.config.problems import Problem, where

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def load_schema(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and check one schema file; the document is returned only when it is sound."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, "", f"cannot read: {exc}")]
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
        problems.append(Problem(path, where(error.path) or "(document)", error.message))
    for loc, ref in _refs(document, ()):
        message = _unresolved(document, ref)
        if message:
            problems.append(Problem(path, where([*loc, "$ref"]), message))
    return problems


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
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return f"{ref!r} does not resolve: no {key!r}"
    return None


def schema_names(folder: Path) -> frozenset[str]:
    """The schema names a directory provides (file stems)."""
    if not folder.is_dir():
        return frozenset()
    return frozenset(path.stem for path in folder.glob("*.json") if path.is_file())

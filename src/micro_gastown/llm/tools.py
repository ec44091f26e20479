"""The read-only tools a polecat may offer the model (names in ``tool_names.TOOL_NAMES``).

Every tool reads and returns text; none writes, runs a command or reaches the network.
File tools are confined to one checkout: paths are resolved and must stay inside its
root (no ``..``, no symlink out), hidden directories such as ``.git`` are not listed or
read, and what a tool returns is bounded, so a model steered by hostile log text can at
worst read the checkout it was pointed at.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.errors import ConfigError
from micro_gastown.llm.base import ToolSpec
from micro_gastown.llm.tool_names import TOOL_NAMES

MAX_FILE_CHARS = 20_000
MAX_LISTED = 500
MAX_HITS = 100


class ToolInputError(ValueError):
    """The model's arguments do not work; the message goes back to it as a tool error."""


class Checkout:
    """Read-only access to one directory tree."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _visible(self, path: Path) -> bool:
        relative = path.relative_to(self.root)
        return not any(part.startswith(".") for part in relative.parts)

    def resolve(self, relative: str) -> Path:
        if not relative or Path(relative).is_absolute():
            raise ToolInputError(f"path {relative!r}: give a path relative to the checkout")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or not self._visible(path):
            raise ToolInputError(f"path {relative!r} is outside the checkout")
        return path

    def files(self, under: str = "", pattern: str = "*") -> list[str]:
        base = self.resolve(under) if under else self.root
        if not base.is_dir():
            raise ToolInputError(f"{under!r} is not a folder of the checkout")
        found = []
        for path in sorted(base.rglob("*")):
            resolved = path.resolve()
            if not resolved.is_relative_to(self.root) or not path.is_file():
                continue
            if not self._visible(path):
                continue
            relative = path.relative_to(self.root).as_posix()
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern):
                found.append(relative)
        return found

    def read(self, relative: str) -> str:
        path = self.resolve(relative)
        if not path.is_file():
            raise ToolInputError(f"{relative!r} is not a file of the checkout")
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > MAX_FILE_CHARS:
            return text[:MAX_FILE_CHARS] + f"\n[... {len(text) - MAX_FILE_CHARS:,} more chars]"
        return text

    def search(self, needle: str) -> list[str]:
        if not needle:
            raise ToolInputError("give a non-empty string to search for")
        hits = []
        for relative in self.files():
            text = (self.root / relative).read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if needle in line:
                    hits.append(f"{relative}:{number}: {line.strip()[:200]}")
                    if len(hits) >= MAX_HITS:
                        return hits
        return hits


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def build_tools(
    names: list[str],
    *,
    checkout: Path | None = None,
    report: Mapping[str, Any] | None = None,
    proposed_changes: Mapping[str, Any] | None = None,
) -> tuple[ToolSpec, ...]:
    """The tools ``names`` (a polecat's ``[tools] available``) bound to this run's data.

    A tool whose data the run does not have (no checkout, no report) is left out, rather
    than offered and failing.
    """
    tree = Checkout(checkout) if checkout is not None else None
    made: dict[str, tuple[dict[str, Any], Callable[[Mapping[str, Any]], str]]] = {}
    if report is not None:
        patterns = {p["id"]: p for p in report.get("patterns", [])}
        brief = {
            "summary": report.get("summary"),
            "patterns": [
                {k: p.get(k) for k in ("id", "type", "severity", "occurrences", "key")}
                for p in patterns.values()
            ],
        }
        made["read_report"] = (_object({}, []), lambda _args: orjson.dumps(brief).decode())

        def read_pattern(args: Mapping[str, Any]) -> str:
            pattern = patterns.get(str(args.get("id", "")))
            if pattern is None:
                raise ToolInputError(f"no pattern {args.get('id')!r}; ids: {', '.join(patterns)}")
            return orjson.dumps(pattern).decode()

        made["read_pattern"] = (_object({"id": _text("a pattern id")}, ["id"]), read_pattern)
    if tree is not None:
        made["read_dsl_file"] = (
            _object({"path": _text("path relative to the checkout root")}, ["path"]),
            lambda args: tree.read(str(args.get("path", ""))),
        )
        made["list_dsl_files"] = (
            _object(
                {
                    "under": _text("a folder relative to the root (default: all)"),
                    "glob": _text("a glob such as *.hs (default: every file)"),
                },
                [],
            ),
            lambda args: "\n".join(
                tree.files(str(args.get("under") or ""), str(args.get("glob") or "*"))[:MAX_LISTED]
            ),
        )
        made["search_dsl"] = (
            _object({"text": _text("the exact text to find")}, ["text"]),
            lambda args: "\n".join(tree.search(str(args.get("text", "")))) or "no match",
        )
    if proposed_changes is not None:
        made["read_proposed_changes"] = (
            _object({}, []),
            lambda _args: orjson.dumps(proposed_changes).decode(),
        )
    tools = []
    for name in names:
        if name not in TOOL_NAMES:
            raise ConfigError(f"tool {name!r}: not one of {', '.join(TOOL_NAMES)}")
        if name in made:
            schema, function = made[name]
            tools.append(ToolSpec(name, TOOL_NAMES[name], schema, function))
    return tuple(tools)

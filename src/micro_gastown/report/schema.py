"""The JSON Schemas of PatternReport, ProposedChanges and PRResult, generated from the
pydantic models.

Emitted as draft-07 documents using ``$defs`` (docs/formats.md). ``python -m
micro_gastown.report.schema [DIR]`` rewrites ``DIR/<Name>.json`` for each (default
``schemas/``; a single ``.json`` path rewrites just that schema); tests fail when a
committed file drifts from its models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from micro_gastown.report.changes import ProposedChanges, PRResult
from micro_gastown.report.model import PatternReport

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SCHEMA_BASE = "https://github.com/micro-gastown/micro-gastown/schemas/"
SCHEMA_ID = f"{SCHEMA_BASE}PatternReport.json"

MODELS: dict[str, type[BaseModel]] = {
    "PatternReport": PatternReport,
    "ProposedChanges": ProposedChanges,
    "PRResult": PRResult,
}
"""Every generated schema, by name (the file stem under ``schemas/``)."""


def _drop_null_defaults(node: Any) -> Any:
    """Optional fields are omitted when absent (``exclude_none``), so none is ever null.

    pydantic writes ``X | None = None`` as ``anyOf: [X, null]`` with ``default: null``;
    upstream consumers expect plain ``X``, so the null branch and the default are removed.
    """
    if isinstance(node, list):
        return [_drop_null_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _drop_null_defaults(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if "default" in node and node["default"] is None and isinstance(branches, list):
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(branches):
            del node["anyOf"], node["default"]
            node = {**rest[0], **node}
    return node


def model_schema(name: str) -> dict[str, Any]:
    body = _drop_null_defaults(MODELS[name].model_json_schema(ref_template="#/$defs/{model}"))
    return {"$schema": DRAFT_07, "$id": f"{SCHEMA_BASE}{name}.json", **body}


def pattern_report_schema() -> dict[str, Any]:
    return model_schema("PatternReport")


def render_schema(name: str = "PatternReport") -> bytes:
    return orjson.dumps(model_schema(name), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path("schemas")
    if target.suffix == ".json":
        targets = {target.stem: target}
    else:
        targets = {name: target / f"{name}.json" for name in MODELS}
    for name, path in targets.items():
        if name not in MODELS:
            print(f"unknown schema {name!r} (known: {', '.join(MODELS)})", file=sys.stderr)
            return 2
        path.write_bytes(render_schema(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The JSON Schema of the PatternReport, generated from the pydantic models.

Emitted as a draft-07 document using ``$defs`` (SPEC §3). ``python -m
micro_gastown.report.schema`` rewrites ``schemas/PatternReport.json``; a test fails when the
committed file drifts from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from micro_gastown.report.model import PatternReport

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "https://github.com/micro-gastown/micro-gastown/schemas/PatternReport.json"


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


def pattern_report_schema() -> dict[str, Any]:
    body = _drop_null_defaults(PatternReport.model_json_schema(ref_template="#/$defs/{model}"))
    return {"$schema": DRAFT_07, "$id": SCHEMA_ID, **body}


def render_schema() -> bytes:
    return orjson.dumps(pattern_report_schema(), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path("schemas/PatternReport.json")
    target.write_bytes(render_schema())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

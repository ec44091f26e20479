"""The JSON Schemas of the files the LLM runtime persists, generated from their models.

``python -m micro_gastown.llm.state_schemas [DIR]`` rewrites ``DIR/<Name>.json`` (default
``schemas/state/``) for the ledger in ``run.json`` and for replay files
(:mod:`micro_gastown.llm.records`); ``make schemas`` runs
:mod:`micro_gastown.app.state_schemas`, which writes these and ``run.json``'s own (the
engine's model sits above this layer). They are draft 2020-12 documents with an
``$id`` beside the report schemas'; they live in a folder of their own because every
``schemas/*.json`` is a polecat output schema. Tests fail when a checked-in file drifts
from its model.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson
from pydantic import BaseModel

from micro_gastown.llm.records import LedgerRecord, ReplayRecordings
from micro_gastown.report.schema import SCHEMA_BASE

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
STATE_SCHEMA_BASE = f"{SCHEMA_BASE}state/"

STATE_MODELS: Final[dict[str, type[BaseModel]]] = {
    "LedgerRecord": LedgerRecord,
    "ReplayRecordings": ReplayRecordings,
}
"""Every persisted document with a schema, by name (the file stem under ``schemas/state/``)."""


def model_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``model``, published as ``<name>.json``."""
    body = model.model_json_schema(ref_template="#/$defs/{model}")
    return {"$schema": DRAFT_2020_12, "$id": f"{STATE_SCHEMA_BASE}{name}.json", **body}


def render_model_schema(name: str, model: type[BaseModel]) -> bytes:
    return orjson.dumps(model_schema(name, model), option=orjson.OPT_INDENT_2) + b"\n"


def state_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the persisted document ``name``."""
    return model_schema(name, STATE_MODELS[name])


def render_state_schema(name: str) -> bytes:
    return render_model_schema(name, STATE_MODELS[name])


def write_schemas(argv: Sequence[str], models: Mapping[str, type[BaseModel]]) -> int:
    """Write ``DIR/<Name>.json`` for each of ``models`` (``DIR`` the one argument, default
    ``schemas/state``); the exit code (5 when a file cannot be written)."""
    directory = Path(argv[0]) if argv else Path("schemas/state")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in models.items():
            path = directory / f"{name}.json"
            path.write_bytes(render_model_schema(name, model))
            print(f"wrote {path}")
    except OSError as exc:
        print(f"{directory}: cannot write the schemas ({exc.strerror or exc})", file=sys.stderr)
        return 5
    return 0


def main(argv: Sequence[str]) -> int:
    """Write ``DIR/<Name>.json`` for the LLM runtime's documents (default ``schemas/state``);
    ``make schemas`` runs :mod:`micro_gastown.app.state_schemas`, which adds ``run.json``."""
    return write_schemas(argv, STATE_MODELS)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

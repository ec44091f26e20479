"""The JSON Schemas of every file a run persists, generated from their models.

``python -m micro_gastown.app.state_schemas [DIR]`` (``make schemas``) rewrites
``DIR/<Name>.json`` (default ``schemas/state/``): the LLM runtime's documents (the ledger,
replay files; :mod:`micro_gastown.llm.state_schemas`) and the engine's ``run.json``
(:class:`~micro_gastown.engine.records.RunStateRecord`). It lives here because only a layer
above both may import both. Tests fail when a checked-in file drifts from its model.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final

from pydantic import BaseModel

from micro_gastown.engine.records import RunStateRecord
from micro_gastown.llm.state_schemas import (
    STATE_MODELS as LLM_STATE_MODELS,
)
from micro_gastown.llm.state_schemas import (
    model_schema,
    render_model_schema,
    write_schemas,
)

STATE_MODELS: Final[dict[str, type[BaseModel]]] = {
    **LLM_STATE_MODELS,
    "RunState": RunStateRecord,
}
"""Every persisted document with a schema, by name (the file stem under ``schemas/state/``)."""


def state_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the persisted document ``name``."""
    return model_schema(name, STATE_MODELS[name])


def render_state_schema(name: str) -> bytes:
    return render_model_schema(name, STATE_MODELS[name])


def main(argv: Sequence[str]) -> int:
    """Write ``DIR/<Name>.json`` for every persisted document (default ``schemas/state``)."""
    return write_schemas(argv, STATE_MODELS)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""A scripted model for the demo's recordings: hand-written answers, picked per finding.

The demo has no key and no network, so each polecat's answers are written by hand (per
pattern id) and played back from a replay file keyed on the exact requests the code sends.
:class:`ScriptedAnswers` is the backend that writes such a file: it answers each request
with the answer for the one finding its prompt is about (the prompt quotes the finding's
``"id"``) and keeps every request's entry; usage is estimated from text length and says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from micro_gastown.errors import ConfigError
from micro_gastown.llm.base import CallRecord, LlmResponse, Meter, Usage
from micro_gastown.llm.base import LlmRequest as ModelRequest
from micro_gastown.llm.models import resolve_model
from micro_gastown.llm.replay import Recording, request_key
from micro_gastown.testing.demo_review import estimated_tokens

__all__ = ["ScriptedAnswers"]


@dataclass
class ScriptedAnswers:
    """Answers each request with the hand-written answer for the finding it is about."""

    answers: dict[str, Any]
    note: str
    source: Path | str = "the scripted answers"
    """Where the answers come from, for the error when none fits."""
    name: str = "scripted"
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def close(self) -> None:
        """Nothing held."""

    def complete(self, request: ModelRequest, meter: Meter) -> LlmResponse:
        model = resolve_model(request.model)
        found = [pid for pid in self.answers if f'"id": "{pid}"' in request.prompt]
        if len(found) != 1:
            raise ConfigError(f"{self.source}: no single answer fits the prompt ({found})")
        output = self.answers[found[0]]
        usage = Usage(
            input_tokens=estimated_tokens(request.system, request.prompt),
            output_tokens=estimated_tokens(json.dumps(output)),
        )
        meter.before(model, usage.input_tokens, request.max_tokens)
        record = CallRecord(model, usage)
        meter.after(record)
        recording = Recording(output, (record,))
        self.entries[request_key(request)] = {"note": self.note, **recording.to_json()}
        return LlmResponse(output, (record,))

"""Answers from recorded responses: the demo and tests run polecats without a model.

A recordings file is a JSON object from a request key (:func:`request_key`: a SHA-256 of the
request's model, system prompt, prompt and output schema) to what the model answered::

    {
      "3f1c...": {
        "output": {"patterns": []},
        "calls": [
          {"model": "claude-haiku-4-5", "usage": {"input_tokens": 812, "output_tokens": 95,
           "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
           "reported_cost_usd": null}
        ]
      }
    }

The key covers the prompt text itself, so a drifted prompt misses instead of replaying a
stale answer. :class:`ReplayBackend` reports every recorded call to the meter, so the
ledger, the budget and the run state behave exactly as in a live run; recorded structured
output is validated against the request's schema like a live answer. Extra keys in an entry
(a ``"note"`` for readers) are ignored. :class:`RecordingBackend` wraps a live backend and
writes such a file, so real runs produce replay files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError, LlmError
from micro_gastown.llm.base import (
    USAGE_FIELDS,
    CallRecord,
    LlmBackend,
    LlmRequest,
    LlmResponse,
    Meter,
    Usage,
)
from micro_gastown.llm.output_schema import listed, output_errors, output_validator, plain_json

KEY_VERSION = 1


def request_key(request: LlmRequest) -> str:
    """The stable key of ``request`` in a recordings file: hex SHA-256 of a canonical JSON
    document (sorted keys, no whitespace) of its model, system prompt, prompt and output
    schema. Temperature, max_tokens, tools and timeouts do not change the answer's key."""
    document = {
        "key_version": KEY_VERSION,
        "model": request.model,
        "system": request.system,
        "prompt": request.prompt,
        "output_schema": plain_json(request.output_schema),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded answer: the output and the model calls it took."""

    output: Any
    calls: tuple[CallRecord, ...]
    repairs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "calls": [call.to_dict() for call in self.calls],
            "repairs": self.repairs,
        }


def load_recordings(path: Path) -> dict[str, Recording]:
    """Read a recordings file; ConfigError naming the file (and key) when it is unusable."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: replay recordings file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read replay recordings ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: replay recordings are not valid JSON ({exc})") from None
    return parse_recordings(data, str(path))


def parse_recordings(data: Any, source: str) -> dict[str, Recording]:
    """Check the shape of recordings from ``source`` (a file name, for messages)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: replay recordings must be a JSON object of request keys")
    return {str(key): _parse_entry(entry, f"{source}: {key}") for key, entry in data.items()}


def _parse_entry(entry: Any, where: str) -> Recording:
    if not isinstance(entry, Mapping) or "output" not in entry:
        raise ConfigError(f"{where}: expected an object with 'output' and 'calls'")
    calls = entry.get("calls")
    if not isinstance(calls, list):
        raise ConfigError(f"{where}.calls: expected a list of calls")
    repairs = entry.get("repairs", 0)
    if isinstance(repairs, bool) or not isinstance(repairs, int) or repairs < 0:
        raise ConfigError(f"{where}.repairs: expected a non-negative integer")
    records = tuple(_parse_call(call, f"{where}.calls[{i}]") for i, call in enumerate(calls))
    return Recording(entry["output"], records, repairs)


def _parse_call(call: Any, where: str) -> CallRecord:
    if not isinstance(call, Mapping):
        raise ConfigError(f"{where}: expected an object with 'model' and 'usage'")
    model = call.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}.model: expected a model name")
    usage = call.get("usage", {})
    if not isinstance(usage, Mapping):
        raise ConfigError(f"{where}.usage: expected an object of token counts")
    counts: dict[str, int] = {}
    for name in USAGE_FIELDS:
        count = usage.get(name, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{where}.usage.{name}: expected a non-negative integer")
        counts[name] = count
    cost = call.get("reported_cost_usd")
    if cost is not None and (
        isinstance(cost, bool) or not isinstance(cost, int | float) or not cost >= 0
    ):
        raise ConfigError(f"{where}.reported_cost_usd: expected null or dollars >= 0")
    return CallRecord(model, Usage(**counts), None if cost is None else float(cost))


class ReplayBackend:
    """Answers each request with its recording; unknown requests are errors, never guesses."""

    name = "replay"

    def __init__(self, recordings: Path | Mapping[str, Any]) -> None:
        if isinstance(recordings, Path):
            self.source = str(recordings)
            self._recordings = load_recordings(recordings)
        else:
            self.source = "the recordings given in code"
            self._recordings = parse_recordings(recordings, self.source)
        self._played: set[str] = set()
        self._lock = threading.Lock()

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        validator = output_validator(request)
        key = request_key(request)
        recording = self._recordings.get(key)
        if recording is None:
            raise LlmError(
                f"no recorded response for request {key} (model {request.model}) in "
                f"{self.source}: the request changed since it was recorded (the report, the "
                "window or the prompt); record it again with a live backend and --record FILE"
            )
        for call in recording.calls:
            # The same worst case a live backend checks: the call's whole input, and the
            # request's output cap.
            usage = call.usage
            input_tokens = (
                usage.input_tokens
                + usage.cache_read_input_tokens
                + usage.cache_creation_input_tokens
            )
            meter.before(call.model, input_tokens, max(request.max_tokens, usage.output_tokens))
            meter.after(call)
        with self._lock:
            self._played.add(key)
        if validator is not None:
            errors = output_errors(validator, recording.output)
            if errors:
                raise LlmError(
                    f"the recorded output for request {key} in {self.source} does not satisfy "
                    f"the output schema:\n{listed(errors)}"
                )
        return LlmResponse(copy.deepcopy(recording.output), recording.calls, recording.repairs)

    def close(self) -> None:
        """Nothing held: the recordings were read when the backend was made."""

    def unplayed_keys(self) -> list[str]:
        """Recorded keys no request asked for yet (tests fail on leftovers: a stale file)."""
        with self._lock:
            return sorted(set(self._recordings) - self._played)


class RecordingBackend:
    """Passes requests to ``inner`` and writes each answer into the recordings file ``path``
    (atomically, after every answer, keeping the entries already there)."""

    def __init__(self, inner: LlmBackend, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.name = f"recording({inner.name})"
        self._entries: dict[str, Any] = {}
        if path.exists():
            load_recordings(path)  # refuse to extend a file we could not replay
            self._entries = json.loads(path.read_bytes())
        self._lock = threading.Lock()

    def close(self) -> None:
        self.inner.close()

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        response = self.inner.complete(request, meter)
        recording = Recording(plain_json(response.output), response.calls, response.repairs)
        with self._lock:
            self._entries[request_key(request)] = recording.to_json()
            text = json.dumps(self._entries, indent=2, sort_keys=True, ensure_ascii=False)
            write_atomic(self.path, text.encode("utf-8") + b"\n")
        return response

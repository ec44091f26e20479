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

The file is a :class:`~micro_gastown.llm.records.ReplayRecordings` (its JSON Schema is
``schemas/state/ReplayRecordings.json``). An entry may carry a ``"note"`` for people
reading the file; any other unknown key is refused, so a typo cannot silently drop a field.
A file nested deeper than :data:`~micro_gastown.nesting.MAX_NESTING` is refused before it is
parsed. Every problem is one :class:`~micro_gastown.errors.ConfigError` line naming the file
and the key.

The key covers the prompt text itself, so a drifted prompt misses instead of replaying a
stale answer. :class:`ReplayBackend` reports every recorded call to the meter, so the
ledger, the budget and the run state behave exactly as in a live run; recorded structured
output is validated against the request's schema like a live answer.
:class:`RecordingBackend` wraps a live backend and writes such a file, so real runs produce
replay files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import ConfigError, LlmError
from micro_gastown.llm.base import (
    CallRecord,
    LlmBackend,
    LlmRequest,
    LlmResponse,
    Meter,
)
from micro_gastown.llm.output_schema import listed, output_errors, output_validator, plain_json
from micro_gastown.llm.records import RecordedAnswer, RecordedCall, ReplayRecordings, first_problem
from micro_gastown.nesting import too_deep_at, too_deep_message

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

    @classmethod
    def of(cls, answer: RecordedAnswer) -> Recording:
        calls = tuple(call.to_call_record() for call in answer.calls)
        return cls(answer.output, calls, answer.repairs)

    def to_record(self, note: str | None = None) -> RecordedAnswer:
        """The entry of a replay file (ValueError if the output or a call is not storable:
        a backend bug, not an input)."""
        return RecordedAnswer(
            output=self.output,
            calls=[RecordedCall.of(call) for call in self.calls],
            repairs=self.repairs,
            note=note,
        )

    def to_json(self) -> dict[str, Any]:
        return _entry_json(self.to_record())


def _entry_json(answer: RecordedAnswer) -> dict[str, Any]:
    """An entry as the file holds it: ``note`` only when there is one; every other field
    (a null ``reported_cost_usd``, ``repairs`` of 0) always."""
    return answer.model_dump(mode="json", exclude=None if answer.note is not None else {"note"})


def load_recordings(path: Path) -> dict[str, Recording]:
    """Read a recordings file; ConfigError naming the file (and key) when it is unusable."""
    return {key: Recording.of(answer) for key, answer in _read_file(path).root.items()}


def parse_recordings(data: Any, source: str) -> dict[str, Recording]:
    """Check the shape of recordings from ``source`` (a file name, for messages)."""
    return {key: Recording.of(answer) for key, answer in _validate(data, source).root.items()}


def _read_file(path: Path) -> ReplayRecordings:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: replay recordings file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read replay recordings ({exc.strerror})") from None
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: replay recordings are not valid JSON (not UTF-8)") from None
    deep_line = too_deep_at(text)
    if deep_line is not None:
        raise ConfigError(f"{path}: line {deep_line}: {too_deep_message()}")
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:  # also an integer of more than 4,300 digits
        raise ConfigError(f"{path}: replay recordings are not valid JSON ({exc})") from None
    except RecursionError:  # the scan above should have caught it; never a traceback
        raise ConfigError(f"{path}: {too_deep_message()}") from None
    return _validate(data, str(path))


def _refuse_constant(name: str) -> NoReturn:
    """NaN and Infinity are not JSON, though Python's parser reads them."""
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """A JSON number too large for a float (``1e999``) would silently become infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _validate(data: Any, source: str) -> ReplayRecordings:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: replay recordings must be a JSON object of request keys")
    try:
        return ReplayRecordings.model_validate(dict(data))
    except ValidationError as exc:
        where, problem = first_problem(exc)
        raise ConfigError(f"{source}: {where}: {problem}") from None


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
            missing = LlmError(
                f"no recorded response for request {key} (model {request.model}) in "
                f"{self.source}: the request changed since it was recorded (the report, the "
                "window or the prompt); record it again with a live backend",
                setting="record",
            )
            missing.retryable = False  # the same request misses the same file again
            raise missing
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
        self._entries: dict[str, RecordedAnswer] = {}
        if path.exists():  # keep its entries; refuse to extend a file we could not replay
            self._entries = dict(_read_file(path).root)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.inner.close()

    def complete(self, request: LlmRequest, meter: Meter) -> LlmResponse:
        response = self.inner.complete(request, meter)
        recording = Recording(plain_json(response.output), response.calls, response.repairs)
        with self._lock:
            self._entries[request_key(request)] = recording.to_record()
            document = {key: _entry_json(answer) for key, answer in self._entries.items()}
            text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
            write_atomic(self.path, text.encode("utf-8") + b"\n")
        return response

r"""Deterministic synthetic logcli exports of an ExoMonad agent graph, with known problems.

Why: the analyzer needs ground truth at realistic scale and with realistic mess. This
module simulates a support-agent graph emitting ExoMonad events (docs/events.md), interleaves many
concurrent runs, mixes in the junk real deployments produce, and writes exactly what
``logcli query --output=jsonl`` writes (Go's ``json.Marshal``: sorted keys,
RFC3339Nano timestamps with trailing zeros trimmed, ``<>&`` escaped). A
:class:`~micro_gastown.testing.scenario.Scenario` says which problems are injected;
:func:`~micro_gastown.testing.scenario.expected_findings` is the manifest of what an
analyzer with the default thresholds must report at warning or critical (and nothing else
at those levels). Both are re-exported here.

The simulated graph (node names match ``examples/exomonad-sample``)::

    entry -> classify -> route -> answerFaq -------------> summarize -> exit
                              \-> refund ------------------^
                               \  refund -> escalate (rare) -> summarize
                                \-> escalate (declared, never taken)

Command line: ``python -m micro_gastown.testing.synthetic OUT --lines N [--seed S]``.
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final

import orjson

from micro_gastown.testing.scenario import (
    DEFAULT_DURATION,
    DEFAULT_START,
    DEMO,
    GENERATOR_VERSION,
    HEALTHY,
    JOB,
    PAYMENT_TIMEOUT_TEMPLATE,
    SCENARIOS,
    SCHEMA_VALIDATION_TEMPLATE,
    SERVICE_NAME,
    ExpectedFinding,
    FindingType,
    GenerationStats,
    LlmProfile,
    Scenario,
    Tag,
    expected_findings,
    manifest,
)
from micro_gastown.timewindow import parse_duration

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_START",
    "DEMO",
    "GENERATOR_VERSION",
    "HEALTHY",
    "PAYMENT_TIMEOUT_TEMPLATE",
    "SCENARIOS",
    "SCHEMA_VALIDATION_TEMPLATE",
    "ExpectedFinding",
    "FindingType",
    "GenerationStats",
    "LlmProfile",
    "Scenario",
    "SyntheticExport",
    "Tag",
    "expected_findings",
    "generate_export",
    "main",
    "manifest",
]

_MS: Final = 1_000_000


class _Quota:
    """Random Bernoulli draws whose running count stays within one of ``rate x trials``.

    Why: rare outcomes (0.5% of refund exits) must appear at every export size, and the
    injected rates must not drift across a threshold by chance at ~5k lines.
    """

    __slots__ = ("_credit", "_rate", "_rng")

    def __init__(self, rate: float, rng: random.Random) -> None:
        self._rate = rate
        self._rng = rng
        self._credit = 0.0

    def draw(self) -> bool:
        self._credit += self._rate
        if self._credit > 0 and self._rng.random() < self._credit:
            self._credit -= 1.0
            return True
        return False


class _Timestamps:
    """Go ``time.RFC3339Nano`` in UTC (fraction trimmed of zeros), caching day and second."""

    __slots__ = ("_date", "_day", "_prefix", "_second")

    def __init__(self) -> None:
        self._second = self._day = -1
        self._prefix = self._date = b""

    def second(self, second: int) -> bytes:
        """``YYYY-MM-DDTHH:MM:SS`` of a Unix second."""
        if second != self._second:
            self._second = second
            day, in_day = divmod(second, 86_400)
            if day != self._day:
                self._day = day
                self._date = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT").encode()
            hours, rest = divmod(in_day, 3600)
            self._prefix = self._date + b"%02d:%02d:%02d" % (hours, rest // 60, rest % 60)
        return self._prefix

    def __call__(self, t_ns: int) -> bytes:
        second, frac = divmod(t_ns, 1_000_000_000)
        if frac == 0:
            return self.second(second) + b"Z"
        return self.second(second) + b"." + (b"%09d" % frac).rstrip(b"0") + b"Z"


_LABEL_HEADS: dict[str | None, bytes] = {}


def _label_head(event_type: str | None) -> bytes:
    """Stream labels for ``event_type`` without the closing brace (``span`` sorts last)."""
    head = _LABEL_HEADS.get(event_type)
    if head is None:
        level = "error" if event_type in ("error", None) else "info"
        labels = {"detected_level": level, "job": JOB, "service_name": SERVICE_NAME}
        if event_type is not None:
            labels["event_type"] = event_type
        head = _LABEL_HEADS[event_type] = orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)[:-1]
    return head


_NO_SPAN: Final = b"}"
_EVENT_TYPES: Final = (
    "graph_transition",
    "llm_call",
    "effect_execution",
    "error",
    "user_action",
)
_Event = dict[str, Any]
_Step = tuple[int, _Event, Tag | None]


class _Run:
    """One session: its step generator and the tail of its stream labels."""

    __slots__ = ("coarse", "label_tail", "steps")

    def __init__(self, span: str | None, coarse: bool) -> None:
        self.label_tail = _NO_SPAN if span is None else b',"span":"' + span.encode() + b'"}'
        self.coarse = coarse  # newer emitters stamp microseconds, not nanoseconds
        self.steps: Iterator[_Step] = iter(())


_SCHEMA_FIELDS: Final = (
    ("priority", ("low|high", "low|medium|high", "p1|p2|p3")),
    ("category", ("billing|shipping|account", "faq|refund")),
    ("language", ("en|fr|de", "iso-639-1")),
    ("sentiment", ("positive|neutral|negative",)),
)
_ONE_OFF_ERRORS: Final = (
    "worker pool exhausted: 64 of 64 slots busy",
    "upstream auth failed for https://svc:hunter2pass@payments.internal/v1 (token {token})",
    "unexpected EOF while reading model response body",
    "rate limited by model provider; retrying in {n} s",
    "failed to decode tool result: invalid character '}}' looking for beginning of value",
    "upstream auth failed for https://svc:hunter2pass@payments.internal/v1 (token {token})",
    "template render error: variable 'customer_name' is undefined in faq.jinja",
    "disk usage at {n}% on /var/lib/exomonad & rising",
)
_NON_JSON_LINES: Final = (
    "panic: runtime error: index out of range [3] with length 3",
    "exomonad-native: Prelude.head: empty list",
    "CallStack (from HasCallStack):",
    "  error, called at src/ExoMonad/Effect/Observability.hs:142:13 in exomonad-core",
    "WARN loki push retry 3/5: context deadline exceeded",
)
_TRUNCATABLE: Final = (
    '{"completion_tokens":212,"latency_ms":1840,"model":"claude-haiku-4-5","prompt_tokens":',
    '{"from":"route","to":"refund","trigger":"intent:re',
    '{"effect_type":"PaymentApi","latency_ms":30012,"succ',
)
_ALNUM: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _go_escape(line: bytes) -> bytes:
    """Go's json.Marshal escapes <, > and & even inside strings; logcli output shows it."""
    return line.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


class SyntheticExport:
    """Iterate to get the export's lines (bytes, newline-terminated); then read ``stats``.

    Runs arrive as a Poisson process sized so ``lines`` span about ``duration``; each run
    is a generator of timed events and a heap merges them, so memory is O(concurrent runs)
    and file order is time order.
    """

    def __init__(
        self,
        *,
        lines: int,
        seed: int = 7,
        scenario: Scenario = DEMO,
        start: datetime = DEFAULT_START,
        duration: timedelta = DEFAULT_DURATION,
    ) -> None:
        if lines < 0:
            raise ValueError("lines must be >= 0")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if duration <= timedelta(0):
            raise ValueError("duration must be positive")
        self.lines = lines
        self.scenario = scenario
        self.stats = GenerationStats()
        self._rng = random.Random(seed)
        self._start_ns = (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        self._start_ns *= 1000
        runs = max(1.0, lines / scenario.expected_lines_per_run())
        self._gap_ns = duration / timedelta(microseconds=1) * 1000 / runs
        self._ts = _Timestamps()
        sc, rng = scenario, self._rng
        self._q_faq = _Quota(sc.faq_share, rng)
        self._q_route_escalate = _Quota(sc.route_escalate_share, rng)
        self._q_refund_fail = _Quota(sc.refund_failure_rate, rng)
        self._q_refund_escalate = _Quota(sc.refund_escalate_share, rng)
        self._q_schema = _Quota(sc.schema_error_rate, rng)
        self._q_minor_fail = _Quota(sc.minor_effect_failure_rate, rng)

    # -- encoding -------------------------------------------------------------------

    def _encode(self, t_ns: int, labels: bytes, event: _Event) -> bytes:
        """One export line. The event is aeson-like JSON (sorted keys), quoted as a string;
        orjson output has no raw control characters, so escaping quote and backslash is
        enough, and only error messages can hold the characters Go escapes."""
        inner = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
        inner = inner.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        line = b'{"labels":' + labels + b',"line":"' + inner + b'","timestamp":"'
        line += self._ts(t_ns) + b'"}\n'
        return _go_escape(line) if event["type"] == "error" else line

    def _encode_raw(self, t_ns: int, labels: bytes, text: str) -> bytes:
        line = b'{"labels":' + labels + b',"line":' + orjson.dumps(text)
        return _go_escape(line + b',"timestamp":"' + self._ts(t_ns) + b'"}\n')

    # -- event builders -------------------------------------------------------------

    def _ms(self, low: float, high: float) -> int:
        return int((low + self._rng.random() * (high - low)) * _MS)

    def _llm(self, profile: LlmProfile) -> tuple[int, _Event, Tag | None]:
        rng = self._rng
        latency = int(profile.latency_median_ms * math.exp(profile.latency_sigma * rng.gauss()))
        sd = profile.prompt_sd
        prompt = int(profile.prompt_mean + max(-3 * sd, min(3 * sd, sd * rng.gauss())))
        span = profile.completion_max - profile.completion_min
        completion = profile.completion_min + int(rng.random() * (span + 1))
        event: _Event = {
            "type": "llm_call",
            "model": profile.model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "latency_ms": latency,
        }
        tag = None
        if rng.random() < self.scenario.malformed_rate:
            tag = Tag.MALFORMED
            flaw = rng.random()
            if flaw < 0.4:
                event["latency_ms"] = str(latency)
            elif flaw < 0.7:
                del event["model"]
            else:
                event["prompt_tokens"] = None
        return latency * _MS, event, tag

    def _effect(self, effect_type: str, latency_ms: int, success: bool) -> _Step:
        event: _Event = {
            "type": "effect_execution",
            "effect_type": effect_type,
            "success": success,
            "latency_ms": latency_ms,
        }
        tag = None
        rng = self._rng
        if rng.random() < self.scenario.malformed_rate:
            tag = Tag.MALFORMED
            flaw = rng.random()
            if flaw < 0.4:
                event["latency_ms"] = str(latency_ms)
            elif flaw < 0.7:
                event["success"] = "true" if success else "false"
            else:
                del event["effect_type"]
        return latency_ms * _MS, event, tag

    def _minor_effect(self, effect_type: str) -> _Step:
        """Http/Cache calls: fast, and fail rarely (a timeout) without an error event."""
        if self._q_minor_fail.draw():
            return self._effect(effect_type, 5000 + int(self._rng.random() * 20), False)
        if effect_type == "Cache":
            return self._effect(effect_type, 1 + int(self._rng.random() * 14), True)
        latency = int(120 * math.exp(0.5 * self._rng.gauss()))
        return self._effect(effect_type, latency, True)

    # -- one run --------------------------------------------------------------------

    def _start_run(self, t: int) -> _Run:
        rng, sc = self._rng, self.scenario
        self.stats.runs_started += 1
        extra: _Event | None = None
        with_node = False
        if rng.random() < sc.session_id_run_share:
            self.stats.session_id_runs += 1
            extra = {"session_id": f"sess_{rng.getrandbits(64):016x}"}
            if rng.random() < sc.node_field_share:
                with_node = True
                extra["graph"] = sc.graph_name
            run = _Run(None, coarse=True)
        else:
            self.stats.span_runs += 1
            run = _Run(f"{rng.getrandbits(128):032x}", coarse=False)
            # Drawn only when asked for, so other scenarios keep their exact output.
            if sc.span_node_field_share and rng.random() < sc.span_node_field_share:
                extra = {"graph": sc.graph_name}
                with_node = True
        run.steps = self._steps(t, extra, with_node)
        return run

    def _steps(self, t: int, extra: _Event | None, with_node: bool) -> Iterator[_Step]:
        """The events of one run, in time order, each with the node it runs in."""
        rng, sc, ms = self._rng, self.scenario, self._ms

        def put(event: _Event, node: str | None) -> _Event:
            if extra is not None:
                event.update(extra)
                if with_node and node is not None:
                    event["node"] = node
            return event

        def move(source: str, target: str, trigger: str) -> _Event:
            event = {"type": "graph_transition", "from": source, "to": target}
            event["trigger"] = trigger
            return put(event, None)

        def llm(node: str, at: int) -> tuple[int, _Step]:
            latency, event, tag = self._llm(sc.llm_nodes[node])
            done = at + ms(4, 40) + latency
            return done, (done, put(event, node), tag)

        def effect(node: str, at: int, step: _Step) -> tuple[int, _Step]:
            latency, event, tag = step
            done = at + ms(1, 8) + latency
            return done, (done, put(event, node), tag)

        yield t, move("entry", "classify", "start"), None
        if rng.random() < sc.user_action_share:
            t += ms(10, 300)
            action = {"type": "user_action", "action_type": "message_sent"}
            action["node_context"] = "classify"
            yield t, put(action, "classify"), None
        if rng.random() < 0.5:
            t, step = effect("classify", t, self._minor_effect("Cache"))
            yield step
        t, step = llm("classify", t)
        yield step
        if self._q_schema.draw():
            field_name, choices = _SCHEMA_FIELDS[int(rng.random() * len(_SCHEMA_FIELDS))]
            expected = choices[int(rng.random() * len(choices))]
            message = f"schema validation failed for field '{field_name}': expected \"{expected}\""
            context = {"field": field_name, "attempt": 1, "raw": f"{{{field_name}: null}}"}
            t += ms(1, 6)
            yield (
                t,
                put({"type": "error", "message": message, "context": context}, "classify"),
                (Tag.SCHEMA_VALIDATION),
            )
            t, step = llm("classify", t)  # the retry succeeds
            yield step
        t += ms(1, 20)
        yield t, move("classify", "route", "classified"), None
        if rng.random() >= 0.3:  # route is a logic node: often the very same nanosecond
            t += ms(0.05, 3)
        if self._q_route_escalate.draw():
            target, trigger = "escalate", "intent:complaint"
        elif self._q_faq.draw():
            target, trigger = "answerFaq", "intent:faq"
        else:
            target, trigger = "refund", "intent:refund"
        yield t, move("route", target, trigger), None

        if target == "answerFaq":
            if rng.random() < 0.8:
                t, step = effect("answerFaq", t, self._minor_effect("Http"))
                yield step
            t, step = llm("answerFaq", t)
            yield step
            t += ms(1, 20)
            yield t, move("answerFaq", "summarize", "answered"), None
        elif target == "refund":
            if self._q_refund_fail.draw():
                timeout = (10_000, 15_000, 30_000, 30_000, 30_000)[int(rng.random() * 5)]
                order = 10_000 + int(rng.random() * 90_000)
                t, step = effect("refund", t, self._effect("PaymentApi", timeout + 3, False))
                yield step
                message = f"payment gateway timeout after {timeout} ms for order {order}"
                context = {
                    "order_id": order,
                    "gateway_url": "https://api:s3cr3tpw@pay.example/v2",
                    "attempt": 1,
                }
                error = put({"type": "error", "message": message, "context": context}, "refund")
                yield t, error, Tag.PAYMENT_TIMEOUT  # same nanosecond as the failed effect
                return  # the run dies in refund: no further transition
            latency = int(400 * math.exp(0.4 * rng.gauss()))
            t, step = effect("refund", t, self._effect("PaymentApi", latency, True))
            yield step
            t += ms(1, 20)
            if self._q_refund_escalate.draw():
                yield t, move("refund", "escalate", "needs_human"), None
                target = "escalate"
            else:
                yield t, move("refund", "summarize", "refunded"), None
        if target == "escalate":
            if rng.random() < 0.5:
                t, step = effect("escalate", t, self._minor_effect("Http"))
                yield step
            t, step = llm("escalate", t)
            yield step
            t += ms(1, 20)
            yield t, move("escalate", "summarize", "escalated"), None

        t, step = llm("summarize", t)
        yield step
        if rng.random() < 0.3:
            t, step = effect("summarize", t, self._minor_effect("Cache"))
            yield step
        t += ms(1, 20)
        yield t, move("summarize", "exit", "done"), None
        if rng.random() < 0.1:
            t += ms(2_000, 30_000)
            kind = "feedback_positive" if rng.random() < 0.7 else "feedback_negative"
            action = {"type": "user_action", "action_type": kind, "node_context": "summarize"}
            yield t, put(action, None), None

    # -- noise ----------------------------------------------------------------------

    def _noise_line(self, t: int, roll: float) -> tuple[bytes, Tag]:
        rng, sc = self._rng, self.scenario
        if roll < sc.non_json_line_rate:
            if rng.random() < 0.3:
                text = _TRUNCATABLE[int(rng.random() * len(_TRUNCATABLE))]
                event_type = "llm_call" if "model" in text else "graph_transition"
                return self._encode_raw(
                    t, _label_head(event_type) + _NO_SPAN, text
                ), Tag.NON_JSON_LINE
            text = _NON_JSON_LINES[int(rng.random() * len(_NON_JSON_LINES))]
            return self._encode_raw(t, _label_head(None) + _NO_SPAN, text), Tag.NON_JSON_LINE
        if roll < sc.non_json_line_rate + sc.unknown_type_rate:
            pick = rng.random()
            if pick < 0.6:
                event: _Event = {"type": "heartbeat", "uptime_s": int(rng.random() * 86_400)}
            elif pick < 0.85:
                event = {"type": "metrics_flush", "series": int(rng.random() * 400)}
            else:
                event = {"type": "span_start", "name": "handleRequest"}
            return self._encode(t, _label_head(event["type"]) + _NO_SPAN, event), Tag.UNKNOWN_TYPE
        pick = rng.random()
        if pick < 0.4:
            kind = "page_view" if rng.random() < 0.8 else "session_resume"
            event = {"type": "user_action", "action_type": kind, "node_context": "landing"}
        elif pick < 0.7:
            _, event, _ = self._effect("Cache", 1 + int(rng.random() * 10), True)
        else:
            _, event, _ = self._llm(sc.unattributed_llm)  # warm-up calls outside any run
        return self._encode(t, _label_head(event["type"]) + _NO_SPAN, event), Tag.UNATTRIBUTED

    def _one_off(self, t: int, template: str) -> bytes:
        rng = self._rng
        token = "ghp_" + "".join(_ALNUM[int(rng.random() * 62)] for _ in range(36))
        message = template.format(token=token, n=5 + int(rng.random() * 90))
        context = {"component": "supervisor", "pid": 1000 + int(rng.random() * 30_000)}
        event = {"type": "error", "message": message, "context": context}
        return self._encode(t, _label_head("error") + _NO_SPAN, event)

    def _plan_specials(self) -> dict[int, tuple[Tag, Callable[[int], bytes]]]:
        """Absolute-count oddities at fixed line positions: logcli's stderr leaking into
        the export, a line cut mid-write, and the one-off errors (fewer than 10 in all)."""
        if self.lines < 100:
            return {}
        query = (
            "http://localhost:3100/loki/api/v1/query_range?direction=FORWARD&limit=5000"
            "&query=%7Bjob%3D%22exomonad-native%22%7D&start=" + str(self._start_ns) + "\n"
        ).encode()
        common = b'Common labels: {job="exomonad-native", service_name="exomonad"}\n'
        cut = b'{"labels":{"detected_level":"info","event_type":"llm_c\n'
        one_offs = _ONE_OFF_ERRORS[: self.scenario.one_off_errors]
        positions = self._rng.sample(range(2, self.lines), len(one_offs) + 1)
        specials: dict[int, tuple[Tag, Callable[[int], bytes]]] = {
            0: (Tag.OUTER_NOT_JSON, lambda _t: query),
            1: (Tag.OUTER_NOT_JSON, lambda _t: common),
            positions.pop(): (Tag.OUTER_NOT_JSON, lambda _t: cut),
        }
        for position, template in zip(positions, one_offs, strict=True):
            specials[position] = (Tag.ONE_OFF_ERROR, partial(self._one_off, template=template))
        return specials

    # -- the merge ------------------------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        rng, stats, sc = self._rng, self.stats, self.scenario
        started = time.perf_counter()
        specials = self._plan_specials()
        noise_rate = sc.non_json_line_rate + sc.unknown_type_rate + sc.unattributed_rate
        heap: list[tuple[int, int, _Event, Tag | None, _Run]] = []
        push, pop, random_ = heapq.heappush, heapq.heappop, rng.random
        dumps, sort_keys = orjson.dumps, orjson.OPT_SORT_KEYS
        last_second, stamp = -1, b""
        heads = {kind: _label_head(kind) for kind in _EVENT_TYPES}
        by_type: dict[str, int] = dict.fromkeys(_EVENT_TYPES, 0)
        transitions: dict[str, int] = {}
        injected: dict[Tag, int] = dict.fromkeys(Tag, 0)
        seq = 0
        now = next_arrival = self._start_ns
        stats.first_timestamp = self._ts(now).decode()
        for index in range(self.lines):
            special = specials.get(index)
            if special is not None:
                injected[special[0]] += 1
                yield special[1](now)
                continue
            roll = random_()
            if roll < noise_rate:
                line, noise = self._noise_line(now, roll)
                injected[noise] += 1
                yield line
                continue
            while not heap or next_arrival <= heap[0][0]:
                run = self._start_run(next_arrival)
                t, event, tag = next(run.steps)
                push(heap, (t, seq, event, tag, run))
                seq += 1
                next_arrival += 1 + int(rng.expovariate(1.0) * self._gap_ns)
            now, _, event, tag, run = pop(heap)
            event_type = event["type"]
            by_type[event_type] += 1
            if event_type == "graph_transition":
                edge = event["from"] + "->" + event["to"]
                transitions[edge] = transitions.get(edge, 0) + 1
            if tag is not None:
                injected[tag] += 1
            # self._encode, inlined: this loop is the generator's whole cost
            inner = dumps(event, option=sort_keys).replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            second, frac = divmod(now, 1_000_000_000)
            if second != last_second:
                last_second, stamp = second, self._ts.second(second)
            line = b'{"labels":' + heads[event_type] + run.label_tail + b',"line":"' + inner
            if frac:
                line += b'","timestamp":"' + stamp + b"." + (b"%09d" % frac).rstrip(b"0")
                line += b'Z"}\n'
            else:
                line += b'","timestamp":"' + stamp + b'Z"}\n'
            yield _go_escape(line) if event_type == "error" else line
            following = next(run.steps, None)
            if following is not None:
                t = following[0]
                if run.coarse:
                    t -= t % 1000
                push(heap, (t if t > now else now, seq, following[1], following[2], run))
                seq += 1
        stats.events_by_type.update({k: v for k, v in by_type.items() if v})
        stats.transitions.update(transitions)
        stats.injected.update({str(k): v for k, v in injected.items() if v})
        stats.lines = self.lines
        stats.last_timestamp = self._ts(now).decode()
        stats.seconds = time.perf_counter() - started


# ---------------------------------------------------------------------------- output


@contextmanager
def _open_output(path: Path) -> Iterator[Callable[[bytes], object]]:
    """A write function for ``path``: plain, or gzip by file name, with mtime 0 and no
    name in the header so the same seed gives the same bytes."""
    with path.open("wb") as raw:
        if path.suffix != ".gz":
            yield raw.write
            return
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            yield gz.write


def generate_export(
    path: Path,
    *,
    lines: int,
    seed: int = 7,
    scenario: Scenario = DEMO,
    start: datetime = DEFAULT_START,
    duration: timedelta = DEFAULT_DURATION,
) -> GenerationStats:
    """Write a logcli JSONL export to ``path`` (``.gz`` compresses), streaming in batches."""
    export = SyntheticExport(
        lines=lines, seed=seed, scenario=scenario, start=start, duration=duration
    )
    with _open_output(path) as write:
        batch: list[bytes] = []
        for line in export:
            batch.append(line)
            if len(batch) >= 8192:
                write(b"".join(batch))
                batch.clear()
        write(b"".join(batch))
    return export.stats


def _parse_duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parse_start(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m micro_gastown.testing.synthetic",
        description="Write a synthetic logcli JSONL export (.gz compresses) with known patterns.",
    )
    parser.add_argument("out", type=Path, help="output file (.jsonl or .jsonl.gz)")
    parser.add_argument("--lines", type=int, required=True, help="number of lines to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default=DEMO.name)
    parser.add_argument("--start", type=_parse_start, default=DEFAULT_START)
    parser.add_argument("--duration", type=_parse_duration, default=DEFAULT_DURATION)
    parser.add_argument("--manifest", type=Path, help="also write the expected findings here")
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    scenario = SCENARIOS[args.scenario]
    stats = generate_export(
        args.out,
        lines=args.lines,
        seed=args.seed,
        scenario=scenario,
        start=args.start,
        duration=args.duration,
    )
    if args.manifest is not None:
        command = " ".join(["python -m micro_gastown.testing.synthetic", *arguments])
        document = manifest(scenario, stats, seed=args.seed, command=command)
        args.manifest.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    rate = stats.lines / stats.seconds if stats.seconds else 0.0
    print(
        f"wrote {stats.lines} lines ({stats.runs_started} runs, "
        f"{stats.first_timestamp} .. {stats.last_timestamp}) to {args.out} "
        f"in {stats.seconds:.2f} s ({rate:,.0f} lines/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

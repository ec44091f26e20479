"""How to select one kind of event in this Loki: its ``event_type`` label, or a line filter.

The emitter labels every stream with ``event_type`` (docs/events.md), but deployments differ: a
shipper that drops the label, a proxy that rewrites streams. Selecting by the label there
would silently miss events, so a probe first counts event-looking lines (a JSON ``type``
of a known kind) in streams *without* the label; if there are any, kinds are selected by a
line filter on the JSON ``type`` instead (:class:`micro_gastown.logql.LogQL`).
"""

from __future__ import annotations

from dataclasses import replace

from micro_gastown.errors import LokiError
from micro_gastown.events.model import EventType
from micro_gastown.logql import LogQL, whole_window
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.grid import NS_PER_MS
from micro_gastown.sources.loki.models import QueryResult, ResultType


def exact_range(start_ns: int, end_ns: int) -> bool:
    """Whether a LogQL range can be exactly ``[start_ns, end_ns)``
    (:func:`micro_gastown.logql.range_of` rounds up to whole milliseconds)."""
    return (end_ns - start_ns) % NS_PER_MS == 0


def vector(result: QueryResult) -> list[tuple[dict[str, str], float]]:
    """An instant query's samples as (labels, value)."""
    if result.result_type is not ResultType.VECTOR:
        raise LokiError(f"expected a vector from an instant query, Loki sent {result.result_type}")
    samples = []
    for item in result.result:
        try:
            labels = {str(k): str(v) for k, v in item["metric"].items()}
            samples.append((labels, float(item["value"][1])))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise LokiError(f"Loki sent a malformed vector ({exc!r})") from None
    return samples


def matrix_points(result: QueryResult) -> list[tuple[int, float]]:
    """A range query's samples, all series together, as (nanoseconds, value).

    Loki writes matrix timestamps as float seconds, so the nanoseconds are approximate
    (about a microsecond); callers map them back to their own evaluation instants.
    """
    if result.result_type is not ResultType.MATRIX:
        raise LokiError(f"expected a matrix from a range query, Loki sent {result.result_type}")
    points = []
    for item in result.result:
        try:
            for ts, value in item["values"]:
                points.append((round(float(ts) * 1e9), float(value)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LokiError(f"Loki sent a malformed matrix ({exc!r})") from None
    return points


def unlabelled_events(client: LokiClient, logql: LogQL, start_ns: int, end_ns: int) -> int:
    """Lines that look like events, in streams of the base selector without the label."""
    kinds = LogQL(logql.selector, by_label=False).stream(*(kind.value for kind in EventType))
    streams = logql.base('event_type=""')  # matches the streams that lack the label
    window, at = whole_window(start_ns, end_ns)
    query = f"sum(count_over_time({streams}{kinds.partition('}')[2]} [{window}]))"
    return int(sum(value for _, value in vector(client.query(query, at))))


def select_event_kinds(
    client: LokiClient, logql: LogQL, start_ns: int, end_ns: int
) -> tuple[LogQL, int]:
    """``logql``, switched to line filters if some events lack the label; and how many do."""
    if not logql.by_label:
        return logql, 0
    missing = unlabelled_events(client, logql, start_ns, end_ns)
    return (replace(logql, by_label=False) if missing else logql), missing


def fallback_note(missing: int) -> str:
    return (
        f"{missing:,} events are in streams without an event_type label: event kinds were "
        "selected by a line filter on the JSON type instead"
    )

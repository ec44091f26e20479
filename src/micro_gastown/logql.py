"""LogQL for findings: queries that reproduce each finding in Grafana (see docs/loki.md).

Every query starts from the configured base selector (default ``{job="exomonad-native"}``)
and narrows by the ``event_type`` label the emitter writes; where streams lack that label
(``by_label=False``, decided by a probe of the data) it narrows by a line filter on the
JSON ``type`` field instead. Strings are quoted per the
LogQL grammar (double-quoted, backslash escapes); regexes use backticks (RE2, no escapes)
when they contain no backtick.
Reference: https://grafana.com/docs/loki/latest/query/
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from micro_gastown.errors import ConfigError

DEFAULT_SELECTOR = '{job="exomonad-native"}'
WINDOW_RANGE = "$__range"
"""The range of a finding's metric query before assembly knows its window: the analysis
assembler replaces it with the window's length (:func:`over_window`); Grafana itself reads
``$__range`` as the time range picked in Explore."""
_NS_PER_MS = 1_000_000
_RE2_SPECIAL = re.compile(r"[\\.+*?()|\[\]{}^$]")
_SELECTOR_RE = re.compile(r"^\{\s*(.*?)\s*\}$", re.DOTALL)


def range_of(ns: int) -> str:
    """A LogQL range of at least ``ns`` nanoseconds: exactly, in whole seconds or
    milliseconds, when ``ns`` is whole milliseconds. Loki reads ranges with Prometheus'
    ``ParseDuration``, which knows no unit finer than ``ms`` (``[5us]`` is a 400)."""
    ms = max(-(-ns // _NS_PER_MS), 1)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def whole_window(start_ns: int, end_ns: int) -> tuple[str, int]:
    """(range, evaluation time) for an instant query over ``[start_ns, end_ns)``.

    Loki evaluates ``[range]`` at time ``t`` over ``(t - range, t]``, to the nanosecond; at
    ``end - 1ns`` with a range of the window's length that is the window, both ends as
    the raw queries have them. A length that is not whole milliseconds cannot be a range:
    it is rounded up, so the count also covers up to a millisecond before ``start``.
    """
    return range_of(max(end_ns - start_ns, 1)), end_ns - 1


def is_metric(query: str) -> bool:
    """Whether ``query`` is a metric query (an aggregation), not a log query: a log query
    is a stream selector and its pipeline, so it starts with ``{``. (Looking for
    ``_over_time(`` inside would also find it in a quoted node name taken from a log.)"""
    return not query.lstrip().startswith("{")


def over_window(query: str, start_ns: int, end_ns: int) -> str:
    """``query`` with :data:`WINDOW_RANGE` replaced by the window's length: run as an
    instant query at ``end_ns - 1`` it aggregates exactly ``[start_ns, end_ns)``.

    Only the last occurrence is the range: the builders put it after every quoted value,
    and a value taken from a log (a model name) may hold the same text."""
    head, found, tail = query.rpartition(f"[{WINDOW_RANGE}]")
    if not found:
        return query
    return f"{head}[{whole_window(start_ns, end_ns)[0]}]{tail}"


def quote(value: str) -> str:
    """A LogQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def quote_regex(pattern: str) -> str:
    return f"`{pattern}`" if "`" not in pattern else quote(pattern)


def escape_regex(text: str) -> str:
    """``text`` as an RE2 pattern matching itself; only specials are escaped (RE2 rejects most
    other escapes, such as a backslash before a space)."""
    return _RE2_SPECIAL.sub(r"\\\g<0>", text)


def template_regex(template: str) -> str:
    """A Drain template (``<*>`` wildcards) → an anchored RE2 matching its messages."""
    parts = [escape_regex(part) for part in template.split("<*>")]
    return ".*?".join(parts)


@dataclass(frozen=True, slots=True)
class LogQL:
    """Builds queries from one base stream selector."""

    selector: str = DEFAULT_SELECTOR
    by_label: bool = True
    """Select event kinds by the ``event_type`` stream label, else by a line filter."""

    def __post_init__(self) -> None:
        match = _SELECTOR_RE.match(self.selector.strip())
        if match is None or not match.group(1):
            raise ConfigError(
                f"expected a LogQL stream selector such as {DEFAULT_SELECTOR}",
                setting="selector",
                value=self.selector,
            )

    @property
    def matchers(self) -> str:
        """The base selector's label matchers, without braces."""
        inner = _SELECTOR_RE.match(self.selector.strip())
        assert inner is not None  # checked in __post_init__
        return inner.group(1)

    def base(self, *extra: str) -> str:
        """The base selector, with extra label matchers."""
        return "{" + ", ".join((self.matchers, *extra)) + "}"

    def stream(self, event_type: str, *more: str, where: tuple[str, ...] = ()) -> str:
        """The base selector narrowed to one or more event kinds (and by the label
        matchers ``where``)."""
        kinds = (event_type, *more)
        if not self.by_label:
            alternatives = "|".join(kinds)
            kind = alternatives if not more else f"({alternatives})"
            return self.base(*where) + rf' |~ `"type"\s*:\s*"{kind}"`'
        if more:
            return self.base(f"event_type=~{quote('|'.join(kinds))}", *where)
        return self.base(f"event_type={quote(event_type)}", *where)

    def llm_latency_p95(self, model: str, node: str | None = None) -> str:
        """p95 latency of ``model``'s calls; of ``node``'s only when the calls name their
        node in a ``node`` field (else it is known only from their span, not to LogQL)."""
        node_filter, by = (f" | node={quote(node)}", "node, model") if node else ("", "model")
        return (
            f"quantile_over_time(0.95, {self.stream('llm_call')} | json{node_filter} "
            f'| model={quote(model)} | unwrap latency_ms | __error__="" [{WINDOW_RANGE}]) by ({by})'
        )

    def prompt_tokens_p95(self, model: str | None, node: str | None = None) -> str:
        """p95 prompt tokens, of one model if given, of one node if its calls name it."""
        node_filter = f" | node={quote(node)}" if node else ""
        model_filter = f" | model={quote(model)}" if model else ""
        by = "node, model" if node else "model"
        return (
            f"quantile_over_time(0.95, {self.stream('llm_call')} | json{node_filter}"
            f'{model_filter} | unwrap prompt_tokens | __error__="" [{WINDOW_RANGE}]) by ({by})'
        )

    def transition(self, source: str, target: str) -> str:
        return (
            f"{self.stream('graph_transition')} | json | from={quote(source)} | to={quote(target)}"
        )

    def transition_with_errors(self, source: str, target: str) -> str:
        """The edge's traversals interleaved with the errors that may follow them."""
        return (
            f"{self.stream('graph_transition', 'error')} | json "
            f'| type="error" or (from={quote(source)} and to={quote(target)})'
        )

    def exits(self, source: str) -> str:
        return (
            f"sum by (to) (count_over_time({self.stream('graph_transition')} | json "
            f"| from={quote(source)} [{WINDOW_RANGE}]))"
        )

    def errors_matching(self, template: str) -> str:
        return f"{self.stream('error')} | json | message=~{quote_regex(template_regex(template))}"

    def effect_outcomes(self, effect_type: str) -> str:
        return (
            f"sum by (success) (count_over_time({self.stream('effect_execution')} | json "
            f"| effect_type={quote(effect_type)} [{WINDOW_RANGE}]))"
        )

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
_RE2_SPECIAL = re.compile(r"[\\.+*?()|\[\]{}^$]")
_SELECTOR_RE = re.compile(r"^\{\s*(.*?)\s*\}$", re.DOTALL)


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

    def stream(self, event_type: str, *more: str) -> str:
        """The base selector narrowed to one or more event kinds."""
        kinds = (event_type, *more)
        if not self.by_label:
            alternatives = "|".join(kinds)
            kind = alternatives if not more else f"({alternatives})"
            return self.base() + rf' |~ `"type"\s*:\s*"{kind}"`'
        if more:
            return self.base(f"event_type=~{quote('|'.join(kinds))}")
        return self.base(f"event_type={quote(event_type)}")

    def llm_latency_p95(self, model: str, node: str | None = None) -> str:
        """p95 latency of ``model``'s calls; of ``node``'s only when the calls name their
        node in a ``node`` field (else it is known only from their span, not to LogQL)."""
        node_filter, by = (f" | node={quote(node)}", "node, model") if node else ("", "model")
        return (
            f"quantile_over_time(0.95, {self.stream('llm_call')} | json{node_filter} "
            f"| model={quote(model)} | unwrap latency_ms [1h]) by ({by})"
        )

    def prompt_tokens_p95(self, model: str | None, node: str | None = None) -> str:
        """p95 prompt tokens, of one model if given, of one node if its calls name it."""
        node_filter = f" | node={quote(node)}" if node else ""
        model_filter = f" | model={quote(model)}" if model else ""
        by = "node, model" if node else "model"
        return (
            f"quantile_over_time(0.95, {self.stream('llm_call')} | json{node_filter}"
            f"{model_filter} | unwrap prompt_tokens [1h]) by ({by})"
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
            f"| from={quote(source)} [1h]))"
        )

    def errors_matching(self, template: str) -> str:
        return f"{self.stream('error')} | json | message=~{quote_regex(template_regex(template))}"

    def effect_outcomes(self, effect_type: str) -> str:
        return (
            f"sum by (success) (count_over_time({self.stream('effect_execution')} | json "
            f"| effect_type={quote(effect_type)} [1h]))"
        )

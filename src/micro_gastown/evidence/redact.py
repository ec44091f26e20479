"""Redact secrets from log text and JSON-like values before they leave the machine.

Sample events end up in reports, PR bodies and prompts, and the logs they come from are
untrusted, so every string passes through a `Redactor` first. What counts as a secret is
decided by `micro_gastown.evidence.secret_rules` (detect-secrets' maintained plugins plus a
few rules of ours); this module replaces what they find.

Output format: every redaction becomes ``[REDACTED:<kind>]``, e.g. ``[REDACTED:github-token]``,
so a reviewer sees what was there without seeing it. Markers of known kinds are never redacted
again, which makes `Redactor.redact_text` idempotent. Strings longer than ``max_chars``
(after redaction) are cut and end with ``TRUNCATED``. Invisible characters are stripped first
(`neutralize_text`): a zero-width space inside a token would otherwise hide it from every rule
while it still renders whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from micro_gastown.evidence.sanitize import neutralize_text
from micro_gastown.evidence.secret_rules import (
    DEFAULT_ENTROPY_LIMIT,
    Rule,
    Span,
    default_rules,
    holds_secret,
    is_secret_key,
)

__all__ = [
    "REDACTED",
    "SECRET_FIELD",
    "TRUNCATED",
    "Redactor",
    "default_redactor",
    "is_secret_key",
]

REDACTED: Final = "[REDACTED:{kind}]"
"""Format of every redaction marker; ``kind`` is a lowercase slug such as ``aws-access-key``."""

TRUNCATED: Final = "…[truncated]"
"""Appended to a string cut at ``max_chars``, and used for containers cut short."""

SECRET_FIELD: Final = "secret-field"
"""Kind used when a whole value is replaced because its key names a secret."""

# Scan this far past ``max_chars`` so a secret straddling the cut is still recognised whole.
_SCAN_MARGIN: Final = 1024

# Texts this short are cached per redactor, at most this many (a few MB at worst).
_CACHED_CHARS: Final = 200
_CACHED_TEXTS: Final = 4096


class Redactor:
    """Replaces secrets in text and JSON-like values with ``[REDACTED:<kind>]`` markers.

    Built once (compiling ~80 patterns); `default_redactor` shares one. Not fast per call,
    and need not be: only a handful of sample events per finding are redacted. Every pattern
    is linear or bounded, and input is capped at ``max_chars`` (+ a scan margin).
    """

    def __init__(
        self,
        *,
        max_chars: int = 4096,
        max_items: int = 100,
        max_depth: int = 20,
        entropy_limit: float = DEFAULT_ENTROPY_LIMIT,
    ) -> None:
        if max_chars < 64 or max_items < 2 or max_depth < 1:
            raise ValueError("max_chars >= 64, max_items >= 2 and max_depth >= 1 are required")
        self.max_chars = max_chars
        self.max_items = max_items
        self.max_depth = max_depth
        self._rules: tuple[Rule, ...] = default_rules(entropy_limit)
        kinds = sorted({rule.kind for rule in self._rules} | {SECRET_FIELD})
        self.kinds: frozenset[str] = frozenset(kinds)
        alternatives = "|".join(map(re.escape, kinds))
        self._marker = re.compile(rf"\[REDACTED:({alternatives})\]")
        self._short = functools.lru_cache(maxsize=_CACHED_TEXTS)(self._redact_text)

    def marker(self, kind: str) -> str:
        return REDACTED.format(kind=kind)

    def count_markers(self, text: str) -> int:
        """How many of this redactor's markers ``text`` holds."""
        return sum(1 for _ in self._marker.finditer(text))

    def replace_markers(self, text: str, by: Callable[[str], str]) -> str:
        """``text`` with each of this redactor's markers replaced by ``by(kind)``."""
        return self._marker.sub(lambda match: by(match.group(1)), text)

    def redact_text(self, text: str) -> str:
        """Return ``text`` with invisible characters stripped and every secret replaced.

        Idempotent: redacting the result again returns it unchanged. Short texts (names,
        label keys: a report redacts the same ones many times) are answered from a cache.
        """
        if len(text) <= _CACHED_CHARS:
            return self._short(text)
        return self._redact_text(text)

    def _redact_text(self, text: str) -> str:
        body = neutralize_text(text)
        truncated = body.endswith(TRUNCATED)
        if truncated:
            body = body[: -len(TRUNCATED)]
        if len(body) > self.max_chars:
            body = body[: self.max_chars + _SCAN_MARGIN]
            truncated = True
        out = self._redact_fully(body)
        if len(out) > self.max_chars:
            # Cutting can expose a match anchored at the end of the text: redact once more.
            out = self._redact_fully(self._cut(out))
            out = self._cut(out)
            truncated = True
        return out + TRUNCATED if truncated else out

    def redact_value(self, value: object) -> object:
        """Deep-copy JSON-like ``value`` with every string redacted.

        A value under a key that names a secret (`is_secret_key`) is replaced whole, unless it
        is null, a boolean or empty (those carry nothing and say the secret was missing).
        Containers longer than ``max_items`` keep ``max_items - 1`` entries plus a
        ``TRUNCATED`` entry; values nested deeper than ``max_depth`` become ``TRUNCATED``.
        Tuples and sets become lists; other objects become their redacted ``str()``.
        """
        return self._redact_value(value, 0)

    def _redact_value(self, value: object, depth: int) -> object:
        if isinstance(value, str):
            return self.redact_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if depth >= self.max_depth:
            return TRUNCATED
        if isinstance(value, Mapping):
            return self._redact_mapping(value, depth)
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            out = [self._redact_value(item, depth + 1) for item in items[: self._keep(items)]]
            if len(items) > self.max_items:
                out.append(TRUNCATED)
            return out
        return self.redact_text(str(value))

    def _keep(self, items: list[Any]) -> int:
        return len(items) if len(items) <= self.max_items else self.max_items - 1

    def _redact_mapping(self, value: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        items = list(value.items())
        out: dict[Any, Any] = {}
        for key, item in items[: self._keep(items)]:
            if not isinstance(key, str):
                out[key] = self._redact_value(item, depth + 1)
                continue
            if holds_secret(neutralize_text(key), item):
                out[self.redact_text(key)] = self.marker(SECRET_FIELD)
            else:
                out[self.redact_text(key)] = self._redact_value(item, depth + 1)
        if len(items) > self.max_items:
            out["…"] = TRUNCATED
        return out

    def _redact_fully(self, text: str) -> str:
        # Redacting can change a neighbour's context (a lookbehind now sees "]"), so repeat
        # until nothing changes. Each changing pass turns unprotected characters into
        # markers, so this terminates; in practice the second pass confirms the first.
        for _ in range(32):
            redacted = self._redact_once(text)
            if redacted == text:
                break
            text = redacted
        return text

    def _redact_once(self, text: str) -> str:
        protected = [m.span() for m in self._marker.finditer(text)]
        # Longest first among matches that start together: when markers cut two of them to
        # the same piece, the piece keeps the kind of the longer match (`_merge` is stable).
        spans = sorted(
            (span for rule in self._rules for span in rule.find(text)),
            key=lambda s: (s.start, -s.end),
        )
        pieces = [piece for span in spans for piece in _subtract(text, span, protected)]
        out: list[str] = []
        position = 0
        for piece in _merge(pieces):
            out.append(text[position : piece.start])
            out.append(self.marker(piece.kind))
            position = piece.end
        out.append(text[position:])
        return "".join(out)

    def _cut(self, text: str) -> str:
        """``text`` cut to ``max_chars`` without splitting a marker."""
        limit = self.max_chars
        for match in self._marker.finditer(text):
            if match.end() > limit:  # the first marker not wholly kept: drop all of it
                return text[: min(limit, match.start())]
        return text[:limit]


def _subtract(text: str, span: Span, protected: list[tuple[int, int]]) -> Iterator[Span]:
    """The parts of ``span`` outside existing markers, trimmed of surrounding whitespace.

    ``protected`` is in text order. Each marker ends the part before it (empty for a marker
    before the span) and moves the start past itself (beyond the span for one after it).
    """
    start = span.start
    for p_start, p_end in protected:
        yield from _trimmed(text, Span(start, min(p_start, span.end), span.kind))
        start = max(start, p_end)
    yield from _trimmed(text, Span(start, span.end, span.kind))


def _trimmed(text: str, span: Span) -> Iterator[Span]:
    """``span`` without leading and trailing whitespace; nothing if that leaves it empty."""
    part = text[span.start : span.end]
    kept = part.strip()
    if kept:
        start = span.start + len(part) - len(part.lstrip())
        yield Span(start, start + len(kept), span.kind)


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans become one, labelled by the earliest (then longest) of them."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


@functools.cache
def default_redactor() -> Redactor:
    """The shared `Redactor` with default limits (building one compiles every rule)."""
    return Redactor()

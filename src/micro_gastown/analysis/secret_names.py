"""Names from the logs that hold a secret, removed from every text a finding builds from them.

A finding's node, edge, model and template come from log text, and its recommendation and
LogQL quote them. Redacting those texts afterwards is not enough: a query carries a name
escaped (``\\.`` in a regex, ``\\"`` in a string), which hides a JWT or a key from every rule,
and a name glued to other characters (``nghp_...``) is caught only when it stands alone,
where the entropy rule sees it whole. So each name is redacted on its own, and the forms the
finding's texts carry it in are replaced before those texts are redacted in turn:

- prose (recommendation, details): the redacted name, ``[REDACTED:<kind>]`` markers and all;
- LogQL: a template's secret becomes a wildcard, so its query still counts the messages;
  any other name becomes ``REDACTED:<kind>`` without brackets, which reads the same inside a
  string and a regex (a bracket would open a character class). Such a query matches nothing
  in Loki, which is the price of not sending the secret there.
"""

from __future__ import annotations

from collections.abc import Iterable

from micro_gastown.clustering import WILDCARD
from micro_gastown.evidence import Redactor
from micro_gastown.logql import escape_regex, quote, template_regex


class SecretNames:
    """The finding's log-derived strings that hold a secret, with their replacements.

    ``names`` are nodes, models and other identifiers; ``templates`` are error templates
    (their LogQL is :func:`~micro_gastown.logql.template_regex`). Names without a secret
    leave every text as it was.
    """

    def __init__(self, redactor: Redactor, names: Iterable[str], templates: Iterable[str]) -> None:
        self._redactor = redactor
        redacted = redactor.redact_text

        prose: dict[str, str] = {}
        query: dict[str, str] = {}
        for name in set(names):
            clean = redacted(name)
            if clean == name:
                continue
            prose[name] = clean
            bare = redactor.replace_markers(clean, lambda kind: f"REDACTED:{kind}")
            query[quote(name)[1:-1]] = quote(bare)[1:-1]
            query[escape_regex(name)] = escape_regex(bare)
        # After the names: a string that is also a template reads as one in a query, so
        # the query keeps counting its messages.
        for template in set(templates):
            clean = redacted(template)
            if clean == template:
                continue
            prose[template] = clean
            # A template's secret is a variable: its query matches anything there.
            wild = redactor.replace_markers(clean, lambda _kind: WILDCARD)
            query[template_regex(template)] = template_regex(wild)
        self._prose = _longest_first(prose)
        self._query = _longest_first(query)

    def __bool__(self) -> bool:
        return bool(self._prose)

    def prose(self, text: str) -> str:
        """``text`` (a recommendation, a detail) with every such name redacted."""
        return self._redactor.redact_text(_swap(text, self._prose))

    def query(self, text: str) -> str:
        """LogQL with every such name in the form its context reads, then redacted."""
        return self._redactor.redact_text(_swap(text, self._query))

    def value(self, value: object) -> object:
        """A JSON-like value (details) with every such name replaced in every string; the
        caller redacts the result (``Redactor.redact_value``, which also bounds it)."""
        if not self._prose:
            return value
        if isinstance(value, str):
            return _swap(value, self._prose)
        if isinstance(value, dict):
            return {
                self.value(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value


def _longest_first(swaps: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Longer forms first, so a name inside a longer one is never replaced half-way."""
    return tuple(
        sorted(((k, v) for k, v in swaps.items() if k and k != v), key=lambda kv: -len(kv[0]))
    )


def _swap(text: str, swaps: tuple[tuple[str, str], ...]) -> str:
    for raw, clean in swaps:
        if raw in text:
            text = text.replace(raw, clean)
    return text

"""Secrets in the names a report quotes (nodes, models, label names, event types, error
templates) never reach the report, in any form a text carries them: plain, glued to other
characters, escaped inside a LogQL string or regex. A template's query keeps counting its
messages (the secret becomes a wildcard); a name's query stays valid LogQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.analysis.secret_names import SecretNames
from micro_gastown.evidence import default_redactor
from micro_gastown.report.markdown import render_markdown

from factories import Export, analyze

# Fake, real-shaped secrets (each would be redacted standing alone in a sentence).
GITHUB = "ghp_U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8D"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "oOnzyw2MzP0ZvzOMhfWuBByReQMsm9Wcz7uW9XFOGOe"
)
ANTHROPIC = "sk-ant-api03-jR4I0b3jRtaWr4Y9OJFLJOqOAf1lLQSAJaiXnkU8Is2g8nprvDd53x83rzjZZZ"
SECRETS = {"github": GITHUB, "jwt": JWT, "anthropic": ANTHROPIC}
# A piece of each that no redaction marker, id or hash could contain by chance.
TELLTALES = {name: secret[-14:] for name, secret in SECRETS.items()}


def _leaks(text: str) -> list[str]:
    return [name for name, piece in TELLTALES.items() if piece in text]


def _every_string(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_every_string(v)]]
    if isinstance(value, list):
        return [s for item in value for s in _every_string(item)]
    return []


def _hostile_export() -> Export:
    """Ten sessions per secret, each secret glued into the node names, the model, a label's
    name, an unknown event type, and one repeated error message (a constant template)."""
    exp = Export()
    for name, secret in SECRETS.items():
        node = f"n{secret}"
        for i in range(10):
            span = f"{name}-{i}"
            exp.transition(span, "route", node)
            exp.llm(span, latency=90_000, prompt=90_000, completion=5, model=f"claude-{secret}")
            exp.error(span, _message(name, secret))
            exp.raw(
                json.dumps({"type": "error", "message": "labelled"}),
                span=span,
                event_type="error",
                extra_labels={f"k{secret}": "1"},
            )
            exp.event({"type": f"t{secret}", "message": "unknown kind"}, span=span)
    return exp


def test_no_secret_in_a_name_reaches_the_report(tmp_path: Path) -> None:
    report = analyze(_hostile_export(), tmp_path)
    document = json.loads(report.to_json())
    kinds = {p["type"] for p in document["patterns"]}
    # The secrets sit where findings quote them: as nodes, models and templates.
    assert {"slow_llm", "token_bloat", "repeated_error", "failed_transition"} <= kinds
    assert document["metadata"]["unknown_types"]

    leaked = {s: _leaks(s) for s in _every_string(document) if _leaks(s)}
    assert leaked == {}
    assert _leaks(render_markdown(report)) == []


MESSAGES = {
    "github": "login rejected for session {}",
    "jwt": "upstream refused the bearer {} (expired)",
    "anthropic": "key {} revoked by the provider, calls will fail",
}
"""One constant message per secret, of different lengths so Drain keeps them apart."""


def _message(name: str, secret: str) -> str:
    return MESSAGES[name].format(secret)


def test_a_template_query_still_matches_its_messages(tmp_path: Path) -> None:
    report = analyze(_hostile_export(), tmp_path)
    templates = [p for p in report.patterns if p.type.value == "repeated_error"]
    for name, message in MESSAGES.items():
        before, after = message.split("{}")
        (pattern,) = [p for p in templates if (p.key["template"] or "").startswith(before)]
        marker = r"\[REDACTED:[a-z0-9-]+\]"
        assert re.fullmatch(
            re.escape(before) + marker + re.escape(after), pattern.key["template"] or ""
        )
        regex = re.search(r"message=~`(.*)`$", pattern.grafana_query or "")
        assert regex is not None, pattern.grafana_query
        assert re.fullmatch(regex.group(1), _message(name, SECRETS[name]))  # secret and all
        assert _leaks(regex.group(1)) == []


def test_a_name_in_a_query_reads_the_redaction_without_brackets(tmp_path: Path) -> None:
    """Inside a LogQL string or regex, a bracketed marker would open a character class (an
    error for kinds such as ``aws-access-key``: ``s-a`` is no range)."""
    report = analyze(_hostile_export(), tmp_path)
    slow = [p.grafana_query or "" for p in report.patterns if p.type.value == "slow_llm"]
    assert any('model="claude-REDACTED:json-web-token"' in query for query in slow), slow
    edges = [p for p in report.patterns if p.type.value == "failed_transition"]
    assert len(edges) == len(SECRETS)
    for pattern in edges:
        assert re.search(r'to="n?REDACTED:[a-z0-9-]+"', pattern.grafana_query or "")
        assert "[REDACTED:" in (pattern.key["to"] or "")  # the prose keeps the marker
    for pattern in report.patterns:
        assert "[REDACTED:" not in (pattern.grafana_query or ""), pattern.grafana_query


@pytest.mark.parametrize(
    ("form", "name", "text", "expected"),
    [
        # Prose: a name glued to a letter is replaced whole, as its key shows it.
        ("prose", f"n{GITHUB}", f"calls in node `n{GITHUB}` are slow", "calls in node `[REDACTED:"),
        # A regex alternation: the name's escaped form.
        (
            "query",
            f"n{JWT}",
            f"to=~`a|n{JWT.replace('.', chr(92) + '.')}|b`",
            "to=~`a|nREDACTED:json-web-token|b`",
        ),
    ],
)
def test_secret_names_replace_every_form(form: str, name: str, text: str, expected: str) -> None:
    swaps = SecretNames(default_redactor(), [name], [])
    assert swaps
    out = swaps.prose(text) if form == "prose" else swaps.query(text)
    assert out.startswith(expected)
    assert _leaks(out) == []


def test_names_without_a_secret_change_nothing() -> None:
    swaps = SecretNames(default_redactor(), ["route", "claude-haiku-4-5"], ["timeout <*> ms"])
    assert not swaps
    text = 'node="route" | model="claude-haiku-4-5" | message=~`timeout .*? ms`'
    assert swaps.query(text) == text
    assert swaps.value({"nodes": ["route"]}) == {"nodes": ["route"]}


def test_findings_whose_names_redact_alike_keep_distinct_ids(tmp_path: Path) -> None:
    """Two nodes named by different high-entropy secrets both read
    ``[REDACTED:base64-high-entropy-string]``: one key, but two findings that refine and
    file-pr must be able to pick apart."""
    report = analyze(_hostile_export(), tmp_path)
    ids = [p.id for p in report.patterns]
    assert len(ids) == len(set(ids))
    edges = [p for p in report.patterns if p.type.value == "failed_transition"]
    keys = [str(p.key) for p in edges]
    (shared,) = {key for key in keys if keys.count(key) > 1}  # the keys do collide
    first, *others = sorted(p.id for p in edges if str(p.key) == shared)
    assert others
    assert others == [f"{first}-{n}" for n in range(2, len(others) + 2)]

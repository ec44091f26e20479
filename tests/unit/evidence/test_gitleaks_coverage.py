"""Redaction covers gitleaks' default rule set (issue 12, safe bodies): the secret corpus.

``tests/data/secrets/gitleaks_corpus.toml`` holds, for every rule of gitleaks' default
configuration, a fake, real-shaped secret inside a log line (``tools/gitleaks_corpus.py`` says
how it was built). Covered examples must lose their secret both as text and as a decoded JSON
event; the coverage figure is computed here and must equal the one the README states.
``negatives.txt`` holds ordinary log text that must come out unchanged.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from micro_gastown.evidence import TRUNCATED, Redactor, default_redactor
from micro_gastown.evidence.secret_rules import Rule, default_rules
from micro_gastown.evidence.secret_rules_extra import extra_rules
from micro_gastown.evidence.secret_rules_providers import PROVIDER_RULES

DATA = Path(__file__).resolve().parents[2] / "data" / "secrets"
README = Path(__file__).resolve().parents[3] / "README.md"
MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")
# "**216 of 218 rules (99.1%)**" in the README's "Evidence and secrets" section.
README_FIGURE = re.compile(r"\*\*(\d+) of (\d+) rules \((\d+(?:\.\d)?)%\)\*\*")
COVERAGE_FLOOR = 0.99


def _load_corpus() -> dict[str, Any]:
    corpus = tomllib.loads((DATA / "gitleaks_corpus.toml").read_text(encoding="utf-8"))
    cut = corpus["source"]["cut"]
    for entry in corpus["example"] + corpus["extra"]:
        entry["secret"] = entry["secret"].replace(cut, "")
        entry["line"] = entry["line"].replace(cut, "")
    return corpus


CORPUS = _load_corpus()
COVERED = [entry for entry in CORPUS["example"] + CORPUS["extra"] if entry["covered"]]


def _case_id(entry: dict[str, Any]) -> str:
    same_rule = [e for e in COVERED if e["rule"] == entry["rule"]]
    return entry["rule"] if len(same_rule) == 1 else f"{entry['rule']}-{same_rule.index(entry)}"


def _negative_lines() -> list[str]:
    lines = (DATA / "negatives.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def _surviving_piece(secret: str, text: str) -> str | None:
    """A piece of ``secret`` (half of it, or 10 characters) still in ``text``, if any.

    Redacting only a token's tail or a password's first half would pass a plain
    ``secret not in text``; this also fails it.
    """
    width = min(len(secret), max(10, len(secret) // 2))
    for start in range(len(secret) - width + 1):
        if secret[start : start + width] in text:
            return secret[start : start + width]
    return None


def _strings(value: object) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(line)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _as_decoded(secret: str) -> str:
    """``secret`` as it reads once the JSON line holding it is decoded (``\\n`` -> newline)."""
    try:
        decoded = json.loads(f'"{secret}"')
    except ValueError:
        return secret
    return decoded if isinstance(decoded, str) else secret


def _coverage() -> tuple[int, int]:
    rules = CORPUS["source"]["rules"]
    uncovered = {entry["rule"] for entry in CORPUS["example"] if not entry["covered"]}
    return len(rules) - len(uncovered), len(rules)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return default_redactor()


def test_corpus_has_an_example_for_every_gitleaks_rule() -> None:
    """The rule list is gitleaks' (recorded with its commit) and each rule has an example."""
    source = CORPUS["source"]
    assert source["repo"] == "gitleaks/gitleaks"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    rules = source["rules"]
    assert len(rules) == len(set(rules)) > 200
    assert {entry["rule"] for entry in CORPUS["example"]} == set(rules)
    for entry in CORPUS["example"]:
        assert entry["covered"] or entry["why"], entry["rule"]
        assert entry["secret"] in entry["line"], entry["rule"]


@pytest.mark.parametrize("entry", COVERED, ids=_case_id)
def test_secret_is_redacted_from_the_log_line(redactor: Redactor, entry: dict[str, Any]) -> None:
    out = redactor.redact_text(entry["line"])
    assert entry["secret"] not in out
    assert _surviving_piece(entry["secret"], out) is None, out
    assert MARKER.search(out), out
    assert redactor.redact_text(out) == out  # the markers of the new kinds are stable


@pytest.mark.parametrize("entry", COVERED, ids=_case_id)
def test_secret_is_redacted_from_the_decoded_event(
    redactor: Redactor, entry: dict[str, Any]
) -> None:
    """As a logcli export event (the line in a field) and, for JSON lines, the line's fields."""
    export = {"labels": {"job": "exomonad-native"}, "line": entry["line"], "timestamp": "x"}
    events: list[object] = [json.loads(json.dumps(export))]
    decoded = _json_object(entry["line"])
    if decoded is not None:
        events.append(decoded)
    secret = _as_decoded(entry["secret"])
    for event in events:
        for text in _strings(redactor.redact_value(event)):
            assert secret not in text
            assert _surviving_piece(secret, text) is None, text


def test_coverage_figure_is_the_one_in_the_readme() -> None:
    """The README states the figure this corpus measures, so neither can drift."""
    covered, total = _coverage()
    readme = README.read_text(encoding="utf-8")
    section = readme.split("### Evidence and secrets", 1)[1].split("\n## ", 1)[0]
    match = README_FIGURE.search(section)
    assert match is not None, "the README's Evidence and secrets section states no figure"
    assert (int(match[1]), int(match[2])) == (covered, total)
    assert match[3] == f"{100 * covered / total:.1f}"


def test_coverage_stays_above_the_floor() -> None:
    """Every gitleaks rule but the generic entropy one and the file-path one is covered."""
    covered, total = _coverage()
    assert covered / total >= COVERAGE_FLOOR
    uncovered = {entry["rule"] for entry in CORPUS["example"] if not entry["covered"]}
    assert uncovered == {"generic-api-key", "pkcs12-file"}


@pytest.mark.parametrize("line", _negative_lines())
def test_ordinary_log_text_is_unchanged(redactor: Redactor, line: str) -> None:
    """Ids, hashes, base64 fragments, URLs without credentials, provider names: all evidence."""
    assert redactor.redact_text(line) == line
    decoded = _json_object(line)
    if decoded is not None:
        assert redactor.redact_value(decoded) == decoded


def test_provider_credential_in_a_json_field_is_replaced_whole(redactor: Redactor) -> None:
    """A key naming a provider plus a value of its shape: the field goes, like a password."""
    value = "0f3c9a7b21d84e6f5a0b9c8d7e6f5a4b"  # 32 hex: an Adobe client id's shape
    out = redactor.redact_value({"adobe_client_id": value, "adobe_region": "eu-west-1"})
    assert out == {"adobe_client_id": "[REDACTED:secret-field]", "adobe_region": "eu-west-1"}


def test_curl_user_flag_outside_curl_is_kept(redactor: Redactor) -> None:
    line = "docker run -u 1000:1000 img; curl -u deploy:Tr0ub4dor3x https://x.internal"
    assert redactor.redact_text(line) == (
        "docker run -u 1000:1000 img; curl -u deploy:[REDACTED:curl-credentials] https://x.internal"
    )


def test_nested_pair_in_a_plain_value_is_found(redactor: Redactor) -> None:
    """The value of "error:" is not a secret, but the pair inside it is."""
    out = redactor.redact_text("error: password=hunter2 retry")
    assert out == "error: password=[REDACTED:secret-keyword] retry"


# Fragments that start many of our patterns without completing them; each test line repeats
# one to a megabyte.
ADVERSARIAL = (
    "a:",
    "twitter: ",
    '"a":"',
    "password: x ",
    "-----BEGIN PRIVATE KEY-----",
    "curl -u a:",
    "kind: Secret\ndata:\n  a: ",
    "xoxe.xoxb-1-",
    "glpat-a",
    "ZXlK",
    "sk-proj-",
    "https://a:",
    "a@",
    '<add key="password" value="',
)
MEGABYTE = 1_000_000


def _our_rules() -> list[Rule]:
    """The rules whose patterns are ours (detect-secrets' plugin regexes run as shipped)."""
    ours: list[Rule] = [*extra_rules(), *PROVIDER_RULES]
    ours += [rule for rule in default_rules() if type(rule).__name__ == "_AssignmentRule"]
    return ours


@pytest.mark.parametrize("fragment", ADVERSARIAL)
def test_our_rules_get_through_a_megabyte_line(fragment: str) -> None:
    """No catastrophic backtracking: each rule returns on a 1 MB adversarial line."""
    line = (fragment * (MEGABYTE // len(fragment) + 1))[:MEGABYTE]
    for rule in _our_rules():
        for span in rule.find(line):
            assert 0 <= span.start < span.end <= MEGABYTE


def test_redactor_gets_through_a_megabyte_line(redactor: Redactor) -> None:
    """The redactor scans at most max_chars plus a margin, whatever the line's length."""
    line = "".join(fragment * 4000 for fragment in ADVERSARIAL)[:MEGABYTE]
    out = redactor.redact_text(line)
    assert out.endswith(TRUNCATED)
    assert len(out) <= redactor.max_chars + len(TRUNCATED)

"""Checks that could never fire, made reachable or deleted (issue 10).

- ``analysis.review._check_unchanged`` compared a review's findings with the report's, and
  could fire only when two findings shared an id (keys that differ only in a secret redact
  alike). Analyze now numbers such findings apart and a PatternReport refuses one id twice,
  so the ranking is always a permutation: the check is deleted, and the two guarantees that
  replace it are tested here.
- ``timewindow.window_from_flags`` refuses a naive ``now``, which no caller passes today; it
  stays, with a test: without it a duration back from a naive ``now`` would surface as a
  user's bad ``--since`` value, not as the caller's bug.
- ``analysis.trimming.trimmed`` handled an error whose message was not its "message" field;
  only parsed events are trimmed, and parsing takes the message from that field: deleted
  (tests/unit/test_trimming.py covers the path that is left).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.refine.report_file import load_report
from micro_gastown.timewindow import window_from_flags

from factories import Export, analyze

PEM = "-----BEGIN RSA PRIVATE KEY----- MIIBOgIBAAJBAK{} -----END RSA PRIVATE KEY-----"


def _alike_export() -> Export:
    exp = Export()
    for _ in range(5):  # two templates (their token counts differ), one redacted key
        exp.error(None, f"bad key {PEM.format(' a b')} refused")
        exp.error(None, f"bad key {PEM.format(' c')} refused")
    return exp


def test_findings_whose_keys_redact_alike_get_ids_of_their_own(tmp_path: Path) -> None:
    report = analyze(_alike_export(), tmp_path)
    first, second = report.patterns
    assert first.key == second.key  # one redacted key for two findings
    assert second.id == f"{first.id}-2"


def test_a_report_file_naming_one_id_twice_is_refused(tmp_path: Path) -> None:
    """A hand-edited report (or an older version's) cannot make refine, file-pr or the
    review pick the wrong finding: it is refused, naming both places."""
    report = analyze(_alike_export(), tmp_path)
    document = orjson.loads(report.to_json())
    document["patterns"][1]["id"] = document["patterns"][0]["id"]
    path = tmp_path / "patterns.json"
    path.write_bytes(orjson.dumps(document))
    with pytest.raises(ConfigError) as raised:
        load_report(path)
    assert raised.value.value == path
    assert "patterns[1] has the id of patterns[0]" in raised.value.reason


def test_a_naive_now_is_the_callers_bug_not_a_bad_flag() -> None:
    with pytest.raises(ValueError, match="`now` must be timezone-aware"):
        window_from_flags("24h", None, now=datetime(2026, 1, 1))

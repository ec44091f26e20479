"""Checks that could never fire, made reachable or deleted (issue 10).

- ``analysis.review._check_unchanged`` compared findings by id, and a review built from the
  report could never change them that way. But two findings can share an id (keys that
  differ only in a secret redact alike), and a ranking by id then keeps one twice and drops
  the other: compared as a list, the check now catches exactly that.
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

import pytest

from micro_gastown.analysis.review import ReviewRejected, apply_review
from micro_gastown.timewindow import window_from_flags

from factories import Export, analyze

PEM = "-----BEGIN RSA PRIVATE KEY----- MIIBOgIBAAJBAK{} -----END RSA PRIVATE KEY-----"


def test_a_review_that_would_drop_one_of_two_findings_sharing_an_id_is_rejected(
    tmp_path: Path,
) -> None:
    exp = Export()
    for _ in range(5):  # two templates (their token counts differ), one redacted key
        exp.error(None, f"bad key {PEM.format(' a b')} refused")
        exp.error(None, f"bad key {PEM.format(' c')} refused")
    report = analyze(exp, tmp_path)
    first, second = report.patterns
    assert first.id == second.id  # the precondition: one id for two findings
    assert first != second
    with pytest.raises(ReviewRejected, match="changed a finding's facts"):
        apply_review(report, {"ranking": [first.id, first.id], "recommendations": []})


def test_a_naive_now_is_the_callers_bug_not_a_bad_flag() -> None:
    with pytest.raises(ValueError, match="`now` must be timezone-aware"):
        window_from_flags("24h", None, now=datetime(2026, 1, 1))

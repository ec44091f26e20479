"""effect_failure: per effect type failure rate against the error-rate thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import Export, analyze, patterns_of


@pytest.mark.parametrize(("failures", "severity"), [(4, None), (5, "warning"), (15, "critical")])
def test_rate_thresholds(tmp_path: Path, failures: int, severity: str | None) -> None:
    exp = Export()
    exp.transition("s", "route", "refund")
    for i in range(100):
        exp.effect("s", "PaymentApi", success=i >= failures, latency=100 + i)
    found = patterns_of(analyze(exp, tmp_path), "effect_failure")
    assert [p.severity.value for p in found] == ([severity] if severity else [])
    if severity:
        d = found[0].details
        assert (d["effect_type"], d["executions"], d["failures"]) == ("PaymentApi", 100, failures)
        assert d["p95_ms"] == 194.05  # interpolated: 0.95 * 99 = rank 94.05 of 100..199
        assert d["nodes"] == {"refund": failures}
        assert all(s.event["success"] is False for s in found[0].sample_events)


def test_effect_types_are_separate(tmp_path: Path) -> None:
    exp = Export()
    for i in range(40):
        exp.effect(None, "Http", success=True)
        exp.effect(None, "Cache", success=i % 4 != 0)  # 25% failing
    found = patterns_of(analyze(exp, tmp_path), "effect_failure")
    assert [p.key for p in found] == [{"effect_type": "Cache"}]

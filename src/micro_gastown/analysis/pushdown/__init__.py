"""Loki push-down: ask Loki for aggregates where they are enough, pull raw lines where not.

What each detector needs, and where it comes from when reading Loki with push-down:

================= ============================================= ==============================
detector          aggregates (instant metric queries)           raw lines
================= ============================================= ==============================
dead_path         transitions per edge (``sum by (from, to)``)  none
slow_llm          per node and model: calls, p50/p95/p99/max    the 5 slowest calls of each
                  latency, calls above the warning threshold    finding (exemplars)
token_bloat       per node: calls, models, p50/p95 prompt,      the 5 largest prompts of each
                  p50 completion                                finding (exemplars)
effect_failure    per effect type: executions, p95 latency      failed executions
failed_transition transitions per edge                          errors, and the transitions of
                                                                the spans/sessions they occur
                                                                in (attribution needs the order)
repeated_error    none                                          errors (Drain needs messages)
================= ============================================= ==============================

Per-node aggregates need events that name their node: an ``llm_call`` inside a span or
session without a ``node`` field can only be attributed from the span's raw events in
order. A probe counts such calls first; if there are any, push-down declines and the
analysis reads raw lines (``--pushdown auto``, the default) or stops with the reason
(``--pushdown on``). Streams without an ``event_type`` label are selected by a line filter
on the JSON ``type`` instead (:class:`micro_gastown.logql.LogQL`).

Findings equal those of a raw scan: Loki's ``quantile_over_time`` interpolates exactly like
:meth:`Histogram.percentiles`; each query runs over the whole window as an instant query
at ``end - 1ns`` with a range of the window's length, so Loki's ``(t - range, t]`` is the
window's ``[start, end)``; and the queries reject what the local parser skips (lines that
are not JSON, missing fields, quoted or fractional numbers). Residual differences: Loki's
JSON parser turns every value into a string, so a number where a string belongs (say
``"model": 5``) is counted by Loki but skipped locally; an exponent-form integer
(``1e3``) the other way round.

Modules: :mod:`.plan` decides what to ask for each detector and runs the scan;
:mod:`.queries` asks Loki (instant totals, sub-range counts, raw pulls) over the window;
:mod:`.aggregates` shapes metric results into the detectors' figures; :mod:`.attention`
reads the errors and failed effects and the transitions of the spans/sessions they are in
(a scope whole only where an idle gap needs its other events); :mod:`.exemplars`
picks a finding's samples by narrowing a threshold with counts.
"""

from __future__ import annotations

from micro_gastown.analysis.pushdown.plan import PushdownDeclined, pushdown_scan

__all__ = ["PushdownDeclined", "pushdown_scan"]

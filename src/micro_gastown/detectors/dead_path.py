"""dead_path: declared graph edges (from the DSL) never or hardly ever taken in the logs.

Only runs with ``--repo``: the declared edge set comes from the ``Graph.hs`` files. A
never-taken edge is ``info``, or ``warning`` when its source node ran often enough that the
absence means something; an edge taken but below ``underused_share`` of its source's exits
is reported as underused (``info``). A window without a single transition says nothing
about paths (wrong window, wrong selector, or the app was down), so it yields no finding.

Series: traversals of the edge per bucket (zeros for a never-taken edge) over its source's
exits, both exact in LogQL. They sum to ``taken`` and ``source_exits``; ``occurrences`` is
the source's visits (its entries), a different count.
"""

from __future__ import annotations

from collections.abc import Mapping

from micro_gastown.detectors import series
from micro_gastown.detectors.base import Detector, Finding, Handler
from micro_gastown.detectors.series import FindingSeries
from micro_gastown.events.model import Event
from micro_gastown.report.model import PatternType, Severity


class DeadPathDetector(Detector):
    kind = PatternType.DEAD_PATH

    def handlers(self) -> Mapping[type[Event], Handler]:
        return {}  # reads the shared transition counts

    def merge(self, other: DeadPathDetector) -> None:
        """Nothing to add: the transition counts are merged with the traffic."""

    def finish(self) -> list[Finding]:
        dsl = self.context.dsl
        traffic = self.context.traffic
        if dsl is None or not traffic.edges:
            return []
        t = self.thresholds
        findings = []
        seen: set[tuple[str, str]] = set()
        for edge in dsl.edges():
            pair = (edge.source, edge.target)
            if pair in seen:
                continue
            seen.add(pair)
            taken = traffic.taken(*pair)
            visits = traffic.visits(edge.source)
            exits = traffic.exits(edge.source)
            details = {
                "from": edge.source,
                "to": edge.target,
                "graph": edge.graph,
                "declared_in": str(edge.declared_in),
                "taken": taken,
                "source_visits": visits,
                "source_exits": exits,
            }
            if taken == 0:
                severity = Severity.WARNING if visits >= t.dead_path_min_visits else Severity.INFO
                details["underused"] = False
                text = (
                    f"The edge `{edge.source}` → `{edge.target}` declared at "
                    f"{edge.declared_in} was never taken, while `{edge.source}` ran "
                    f"{visits:,} times. Check the condition that should choose it; if the "
                    "path is obsolete, remove the Goto and its handler branch."
                )
            elif exits >= t.underused_min_exits and taken / exits < t.underused_share:
                severity = Severity.INFO
                details["underused"] = True
                details["share"] = round(taken / exits, 5)
                text = (
                    f"The edge `{edge.source}` → `{edge.target}` ({edge.declared_in}) carried "
                    f"{taken:,} of {exits:,} exits from `{edge.source}` "
                    f"({taken / exits:.2%}). Confirm the rare case is intended, or fold it "
                    "into a more common path."
                )
            else:
                continue
            findings.append(
                Finding(
                    kind=self.kind,
                    key={"from": edge.source, "to": edge.target},
                    severity=severity,
                    occurrences=max(visits, 1),
                    details=details,
                    recommendation=text,
                    logql=self.context.logql.exits(edge.source),
                    series=FindingSeries(
                        metric="traversals",
                        values=traffic.taken_over_time(*pair),
                        unit_ns=self.context.series_unit_ns,
                        exposure=traffic.exits_over_time(edge.source),
                        exposure_unit="exits from the source",
                        query=series.transitions(self.context.logql, *pair),
                        exposure_query=series.transitions(self.context.logql, edge.source),
                    ),
                    # No nodes: edge counts come from each transition's own from/to, so
                    # event order and attribution cannot change them.
                )
            )
        return findings

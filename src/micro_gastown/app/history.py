"""Our PR history, read from GitHub, as the refine step's :class:`FindingHistory`.

The analyze step of ``evolve`` reads it once (our PRs: open, closed, merged, reverted) and
records, per finding, why it must not be refined now; the refine step then skips those, so
no money is spent drafting a change the filer would hold back. The rules are the filer's
own (:func:`micro_gastown.github.hygiene.suppressed`), plus one for refine alone: a finding
our open PR already addresses is not drafted again (that PR is the place for it), which
leaves the run's ``max_prs`` for the next finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from micro_gastown.app.filer_settings import FilerSettings, open_github
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.hygiene import Finding, Limits, suppressed
from micro_gastown.github.model import OurPr, PrState
from micro_gastown.report.model import Pattern

__all__ = ["RecordedHistory", "read_suppressions", "suppressions"]


def suppressions(
    patterns: Sequence[Pattern],
    history: Sequence[OurPr],
    *,
    login: str,
    limits: Limits,
    now: dt.datetime,
) -> dict[str, str]:
    """Pattern id -> why it is not to be refined now."""
    held = suppressed(
        [Finding.from_pattern(p) for p in patterns],
        history,
        now,
        identity_login=login,
        limits=limits,
    )
    reasons = {pattern_id: s.reason for pattern_id, s in held.items()}
    ours = login.casefold()
    for pr in history:
        if pr.state is not PrState.OPEN or pr.author_login.casefold() != ours:
            continue
        for pattern_id in pr.fingerprints:
            reasons.setdefault(pattern_id, f"our open PR #{pr.number} addresses it")
    return reasons


def read_suppressions(
    patterns: Sequence[Pattern],
    settings: FilerSettings,
    *,
    now: dt.datetime,
    api: GitHubApi | None = None,
) -> dict[str, str] | None:
    """The suppressions GitHub's history gives, or None when no token and repository
    are set (nothing to read). GitHub errors propagate: the caller decides."""
    api = api if api is not None else open_github(settings)
    if api is None:
        return None
    login = settings.github_login or api.whoami()
    if login is None:
        return None
    limits = settings.limits()
    return suppressions(patterns, api.our_prs(login), login=login, limits=limits, now=now)


class RecordedHistory:
    """The refine step's view of what the analyze step recorded."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self._reasons = dict(reasons)

    def suppression(self, pattern: Pattern) -> str | None:
        return self._reasons.get(pattern.id)

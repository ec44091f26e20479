"""``rollback-check``: judge our merged evolution PRs, revert a regression, close the loop.

For each merged PR of ours (label, ``sleeptime/`` branch, our login, a readable metadata
block with findings), once a whole day of after-window has passed (:mod:`~micro_gastown.watch.
looks`): count each finding it addressed and the overall error rate in Loki, before the merge
and after it (:mod:`~micro_gastown.watch.counting`), and judge them
(:mod:`~micro_gastown.watch.assess`). Then:

- **regressed** at any look: a revert PR (:mod:`.reverter`), the verdict comment on the PR,
  label ``sleeptime-reverted``;
- the **final look** (``watch_days`` after the merge, plus the deploy lag): the verdict
  comment and a verdict label (``sleeptime-improved``, ``-no-change``, ``-inconclusive``);
- otherwise nothing is written: the PR is watched again on the next run.

GitHub is the only memory. A verdict label means the PR was judged; a revert PR of ours for
it (its branch ``sleeptime/revert-<n>`` or its record's ``reverts``) means it was reverted,
whatever state that PR is in now (a human closing it keeps the change, and is respected:
never a second revert); a comment carrying our verdict marker means the comment was posted.
Each step checks its own mark first, so a run that died half way is finished by the next,
never repeated. A PR without our metadata is never judged nor reverted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from micro_gastown.app.filer_settings import (
    GITHUB_SETTINGS,
    FilerSettings,
    open_github,
    resolve_filer_settings,
)
from micro_gastown.app.reverter import Reverter, has_verdict_comment, revert_number
from micro_gastown.app.rollback_outcome import PrAction, PrOutcome
from micro_gastown.errors import ConfigError, GitError, GitHubError, LokiError, UsageError
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.model import REVERT_BRANCH_PREFIX, VERDICT_LABELS, OurPr, PrState
from micro_gastown.github.verdict_body import Presentation, verdict_comment
from micro_gastown.logql import DEFAULT_SELECTOR, LogQL
from micro_gastown.sources.loki.client import LokiClient
from micro_gastown.sources.loki.config import LokiConfig
from micro_gastown.sources.loki.selection import select_event_kinds
from micro_gastown.timewindow import datetime_to_ns, format_ns, parse_duration, parse_rfc3339_ns
from micro_gastown.watch.assess import Assessment, Unmeasured, judge_look
from micro_gastown.watch.counting import LokiCounter, error_measure, measure_look, recorded_measure
from micro_gastown.watch.judge import DEFAULT_POLICY, JudgePolicy, Verdict
from micro_gastown.watch.looks import Look, WatchPlan

__all__ = [
    "PrAction",
    "PrOutcome",
    "RollbackRequest",
    "RollbackResult",
    "has_verdict_comment",
    "resolve_rollback",
    "rollback_check",
]


@dataclass(frozen=True, slots=True)
class RollbackRequest:
    """What one ``rollback-check`` run does."""

    plan: WatchPlan = field(default_factory=WatchPlan)
    policy: JudgePolicy = DEFAULT_POLICY
    selector: str = DEFAULT_SELECTOR
    dry_run: bool = False
    auto_merge: bool = False
    """Merge the revert PR as soon as it is open (GitHub's rules still apply); off by
    default: a human merges it."""
    only: int | None = None
    """Judge this PR alone (a workflow run on its ``pull_request: closed`` event)."""


@dataclass(frozen=True, slots=True)
class RollbackResult:
    outcomes: tuple[PrOutcome, ...]
    loki_requests: int = 0

    @property
    def reverted(self) -> tuple[PrOutcome, ...]:
        return tuple(o for o in self.outcomes if o.action is PrAction.REVERTED)


def rollback_check(
    request: RollbackRequest,
    settings: FilerSettings,
    loki: LokiConfig,
    *,
    now: dt.datetime,
    api: GitHubApi | None = None,
    client: LokiClient | None = None,
) -> RollbackResult:
    """One pass of the watcher over our merged PRs (module docstring)."""
    api = api if api is not None else open_github(settings)
    if api is None:
        raise ConfigError(
            "rollback-check reads merged PRs from GitHub: set GITHUB_TOKEN and GITHUB_REPOSITORY"
        )
    login = settings.github_login or api.whoami()
    if login is None:
        raise ConfigError(
            "GitHub does not tell an installation or workflow token who it is: set our "
            "login (github-actions[bot] for the workflow's GITHUB_TOKEN)",
            setting="github_login",
        )
    ours = api.our_prs(login)
    reverts = _reverts_by_target(ours)
    watched = [pr for pr in ours if _watched(pr) and (request.only in (None, pr.number))]
    watched.sort(key=lambda pr: (pr.merged_at or "", pr.number), reverse=True)  # newest first
    owned = client is None
    client = client if client is not None else LokiClient(loki)
    grafana = _grafana(settings)
    reverter = Reverter(api, settings, login=login, dry_run=request.dry_run, now=now)
    outcomes: list[PrOutcome] = []
    try:
        for pr in watched:
            try:
                outcomes.append(
                    _one(
                        pr,
                        reverts.get(pr.number),
                        request=request,
                        api=api,
                        login=login,
                        counter=LokiCounter(client, LogQL(request.selector)),
                        reverter=reverter,
                        grafana=grafana,
                        now_ns=datetime_to_ns(now),
                    )
                )
            except (GitHubError, GitError, LokiError) as exc:  # one PR's trouble, not the run's
                outcomes.append(
                    PrOutcome(
                        pr.number,
                        pr.url,
                        PrAction.FAILED,
                        str(exc).splitlines()[0],
                        exit_code=exc.exit_code,
                    )
                )
    finally:
        if owned:
            client.close()
    if request.only is not None and not watched:
        outcomes.append(_not_watched(api, request.only))
    return RollbackResult(tuple(outcomes), loki_requests=client.requests)


def _not_watched(api: GitHubApi, number: int) -> PrOutcome:
    """What ``--pr N`` gets when N is not a merged evolution PR of ours."""
    pr = api.pull(number)
    why = (
        "no such pull request"
        if pr is None
        else "not a merged evolution PR of ours with our metadata block: never judged"
    )
    return PrOutcome(number, pr.url if pr else "", PrAction.SKIPPED, why)


def _watched(pr: OurPr) -> bool:
    return (
        pr.state is PrState.MERGED
        and pr.record is not None
        and pr.record.reverts is None
        and bool(pr.record.fingerprints)
        and not pr.branch.startswith(REVERT_BRANCH_PREFIX)
    )


def _reverts_by_target(ours: Sequence[OurPr]) -> dict[int, OurPr]:
    """Our revert PRs by the number of the PR each undoes (the first one, if several)."""
    found: dict[int, OurPr] = {}
    for pr in sorted(ours, key=lambda p: p.number):
        target = revert_number(pr)
        if target is not None:
            found.setdefault(target, pr)
    return found


def _grafana(settings: FilerSettings) -> GrafanaExplore | None:
    if settings.grafana_url and settings.grafana_datasource:
        return GrafanaExplore(settings.grafana_url, settings.grafana_datasource)
    return None


def _verdict_label(pr: OurPr) -> Verdict | None:
    labels = {name.casefold() for name in pr.labels}
    for verdict, label in VERDICT_LABELS.items():
        if label.casefold() in labels:
            return verdict
    return None


def _one(
    pr: OurPr,
    revert: OurPr | None,
    *,
    request: RollbackRequest,
    api: GitHubApi,
    login: str,
    counter: LokiCounter,
    reverter: Reverter,
    grafana: GrafanaExplore | None,
    now_ns: int,
) -> PrOutcome:
    def outcome(action: PrAction, detail: str, **more: object) -> PrOutcome:
        return PrOutcome(pr.number, pr.url, action, detail, **more)  # type: ignore[arg-type]

    labelled = _verdict_label(pr)
    if labelled is not None:  # the last step of every verdict: nothing left to do
        label = VERDICT_LABELS[labelled]
        return outcome(PrAction.ALREADY_JUDGED, f"labelled {label}", verdict=labelled)
    try:
        merged_ns = parse_rfc3339_ns(pr.merged_at or "")
    except ValueError:
        return outcome(PrAction.SKIPPED, "its merge time cannot be read")
    plan = request.plan
    if revert is None and plan.too_late(merged_ns, now_ns):
        return outcome(
            PrAction.SKIPPED,
            f"its watch ended {format_ns(plan.ends_ns(merged_ns))}, before any run judged it: "
            "left alone",
        )
    look = plan.look(merged_ns, now_ns)
    if look is None:
        return outcome(
            PrAction.WATCHING, f"first look due {format_ns(plan.first_look_ns(merged_ns))}"
        )
    assessment = _assess(pr, look, request, counter)
    shown = Presentation(request.policy.alpha, request.plan.deploy_lag, grafana)
    if revert is not None:
        return reverter.finish(pr, revert, assessment, shown)
    if assessment.verdict is Verdict.REGRESSED:
        return reverter.revert(pr, assessment, shown, auto_merge=request.auto_merge)
    if not look.final:
        return outcome(
            PrAction.WATCHING,
            f"look {look.day} of {look.watch_days}: {assessment.verdict} so far",
            verdict=assessment.verdict,
            look=look,
            assessment=assessment,
        )
    return _final(pr, assessment, shown, request=request, api=api, login=login)


def _assess(pr: OurPr, look: Look, request: RollbackRequest, counter: LokiCounter) -> Assessment:
    assert pr.record is not None
    logql, _missing = select_event_kinds(
        counter.client, counter.logql, look.before.start_ns, look.after.end_ns
    )
    counter.logql = logql
    wanted = set(pr.record.fingerprints)
    records = [p for p in pr.record.patterns if p.id in wanted]
    measures = [
        recorded_measure(p.id, p.series_query, p.exposure_query, p.exposure_unit, logql)
        for p in records[:MAX_MEASURED]
    ]
    measures.append(error_measure(logql))
    measured, unmeasured = measure_look(counter, measures, look)
    if len(records) > MAX_MEASURED:
        more = len(records) - MAX_MEASURED
        why = f"a PR is judged on its first {MAX_MEASURED} findings"
        unmeasured.append(Unmeasured(f"{more} more findings", why))
    return judge_look(look, measured, unmeasured, request.policy)


def _final(
    pr: OurPr,
    assessment: Assessment,
    shown: Presentation,
    *,
    request: RollbackRequest,
    api: GitHubApi,
    login: str,
) -> PrOutcome:
    verdict, look = assessment.verdict, assessment.look
    label = VERDICT_LABELS[verdict]
    detail = f"final look ({look.day} of {look.watch_days}): {verdict}"
    if request.dry_run:
        return PrOutcome(
            pr.number, pr.url, PrAction.WOULD_JUDGE, detail + "; dry run: nothing written",
            verdict=verdict, look=look, assessment=assessment,
        )  # fmt: skip
    if not has_verdict_comment(api, pr.number, login):
        api.comment(pr.number, verdict_comment(pr.number, assessment, shown))
    api.add_labels(pr.number, [label])
    return PrOutcome(
        pr.number, pr.url, PrAction.JUDGED, f"{detail}; commented, labelled {label}",
        verdict=verdict, look=look, assessment=assessment,
    )  # fmt: skip


MAX_MEASURED: Final = 20
"""Findings counted per PR (ours address a handful; a body edited to list thousands must
not turn one hourly run into thousands of Loki queries)."""
_ON: Final = frozenset({"1", "true", "yes", "on"})
_OFF: Final = frozenset({"", "0", "false", "no", "off"})


def resolve_rollback(
    given: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[RollbackRequest, FilerSettings, LokiConfig]:
    """A face's values (None: not given) over the environment over the defaults.

    GitHub settings are the filer's (:func:`resolve_filer_settings`, ``watch_days``
    among them, so the watcher and the hygiene rules agree on how long a merged PR is
    watched); Loki's are the analyzer's (``GRAFANA_LOKI_URL`` and the credential
    variables; ``loki_url`` overrides the address). ``deploy_lag``
    (``MICRO_GASTOWN_DEPLOY_LAG``, e.g. ``1h``), ``auto_merge``
    (``MICRO_GASTOWN_AUTO_MERGE_REVERTS``) and ``selector`` (``MICRO_GASTOWN_SELECTOR``)
    are the watcher's own.
    """
    github = {k: given.get(k) for k in _GITHUB_KEYS}
    settings = resolve_filer_settings(github, environ)
    lag_text = given.get("deploy_lag") or environ.get("MICRO_GASTOWN_DEPLOY_LAG") or "1h"
    lag_setting = "deploy_lag" if given.get("deploy_lag") else "MICRO_GASTOWN_DEPLOY_LAG"
    try:
        lag = parse_duration(str(lag_text))
    except ValueError as exc:
        raise UsageError(str(exc), setting=lag_setting, value=lag_text) from None
    auto = given.get("auto_merge")
    if auto is None:
        raw = environ.get("MICRO_GASTOWN_AUTO_MERGE_REVERTS", "").strip().lower()
        if raw not in _ON | _OFF:
            raise UsageError(
                "expected true or false", setting="MICRO_GASTOWN_AUTO_MERGE_REVERTS", value=raw
            )
        auto = raw in _ON
    only = given.get("only")
    if only is not None and (isinstance(only, bool) or not isinstance(only, int) or only < 1):
        raise UsageError("expected a PR number", setting="pr", value=only)
    selector = given.get("selector") or environ.get("MICRO_GASTOWN_SELECTOR") or DEFAULT_SELECTOR
    LogQL(selector)  # a bad selector is refused now, naming the setting
    try:
        plan = WatchPlan(watch_days=settings.watch_days, deploy_lag=lag)
    except ConfigError as exc:
        if exc.setting == "deploy_lag":
            raise UsageError(exc.reason, setting=lag_setting, value=lag_text) from None
        where = "watch_days" if given.get("watch_days") is not None else "MICRO_GASTOWN_WATCH_DAYS"
        raise UsageError(exc.reason, setting=where, value=settings.watch_days) from None
    request = RollbackRequest(
        plan=plan,
        selector=selector,
        dry_run=bool(given.get("dry_run")),
        auto_merge=bool(auto),
        only=only,
    )
    overrides = {"url": given["loki_url"]} if given.get("loki_url") else {}
    return request, settings, LokiConfig.from_env(environ, **overrides)


_GITHUB_KEYS: Final = (*GITHUB_SETTINGS, "watch_days")

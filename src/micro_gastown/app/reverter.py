"""Undoing a merged evolution PR the watcher judged regressed: the revert PR, the verdict
comment, the label, each step checking its own mark first (see :mod:`.rollback`).

The revert commit is made in a scratch repository from shallow fetches of the base branch
and the merge commit (:func:`~micro_gastown.github.gitrevert.make_revert`): the runner's
checkout is never touched. It goes up as the filer's commits do: ``git push`` with the token
in the environment, or through the Git Database API (a commit GitHub signs). A branch
``sleeptime/revert-<n>`` already there is a run that died before opening its PR: reused when
every commit on it is ours, left alone otherwise. Auto-merge is opt-in; GitHub's own rules
(required reviews and checks) still decide, and a refusal leaves the revert PR open.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from micro_gastown import __version__
from micro_gastown.app.branch_maker import remote_url
from micro_gastown.app.filer_settings import CommitVia, FilerSettings
from micro_gastown.app.rollback_outcome import PrAction, PrOutcome
from micro_gastown.errors import (
    ConfigError,
    GitHubError,
    NothingToRevertError,
    RevertConflictError,
)
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.authorship import foreign_commits
from micro_gastown.github.gitdb import publish_via_api
from micro_gastown.github.gitpush import RemoteAuth, push
from micro_gastown.github.gitrevert import make_revert
from micro_gastown.github.model import (
    LABEL_REVERT,
    LABEL_REVERTED,
    REVERT_BRANCH_PREFIX,
    CommitIdentity,
    FilingRecord,
    OurPr,
    PrDraft,
    PrState,
)
from micro_gastown.github.verdict_body import (
    Presentation,
    RevertFacts,
    read_verdict_marker,
    revert_body,
    revert_commit_message,
    revert_title,
    verdict_comment,
)
from micro_gastown.timewindow import rfc3339_seconds
from micro_gastown.watch.assess import Assessment

__all__ = ["Reverter", "has_verdict_comment", "revert_number"]

_REVERT_BRANCH = re.compile("^" + re.escape(REVERT_BRANCH_PREFIX) + r"([1-9][0-9]{0,9})$")


def revert_number(pr: OurPr) -> int | None:
    """The PR ``pr`` reverts, when it is one of our revert PRs."""
    if pr.record is not None and pr.record.reverts is not None:
        return pr.record.reverts
    match = _REVERT_BRANCH.match(pr.branch)
    return int(match.group(1)) if match else None


def has_verdict_comment(api: GitHubApi, number: int, login: str) -> bool:
    """Whether we already commented our verdict on PR ``number``."""
    me = login.casefold()
    return any(
        c.author_login.casefold() == me and read_verdict_marker(c.body) is not None
        for c in api.comments(number)
    )


@dataclass(frozen=True, slots=True)
class _Opened:
    pr: OurPr
    note: str


class Reverter:
    """Reverts for one run: one GitHub repository, our identity, dry run or not."""

    def __init__(
        self,
        api: GitHubApi,
        settings: FilerSettings,
        *,
        login: str,
        dry_run: bool,
        now: dt.datetime | None = None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.login = login
        self.dry_run = dry_run
        self.now = now or dt.datetime.now(dt.UTC)
        self.identity = CommitIdentity(
            login=login, name=settings.commit_name, email=settings.commit_email
        )

    # -- the two ways in -----------------------------------------------------------------

    def revert(
        self,
        pr: OurPr,
        assessment: Assessment,
        shown: Presentation,
        *,
        auto_merge: bool,
    ) -> PrOutcome:
        """``pr`` regressed and has no revert PR yet: open one, then comment and label."""
        look = assessment.look
        said = f"look {look.day} of {look.watch_days}: regressed"
        if self.dry_run:
            return self._outcome(pr, assessment, PrAction.WOULD_REVERT, f"{said}; dry run")
        if not pr.merge_commit_sha:
            return self._failed(
                pr, assessment, shown,
                "GitHub gives no merge commit for it: revert it by hand",
            )  # fmt: skip
        try:
            opened = self._open(pr, assessment, shown, auto_merge)
        except RevertConflictError as exc:
            return self._failed(
                pr, assessment, shown,
                f"the revert conflicts with later changes ({exc}): revert it by hand",
            )  # fmt: skip
        except NothingToRevertError:
            return self._failed(
                pr, assessment, shown,
                "its change is no longer on the base branch (reverted by hand?): nothing to "
                "revert",
            )  # fmt: skip
        if opened is None:
            return self._failed(
                pr, assessment, shown,
                f"branch {REVERT_BRANCH_PREFIX}{pr.number} holds someone else's commit: left "
                "alone, revert it by hand",
            )  # fmt: skip
        self._close_loop(pr, assessment, shown, opened.pr.number)
        return self._outcome(
            pr, assessment, PrAction.REVERTED, f"{said}; revert #{opened.pr.number} opened"
            + opened.note, revert=opened.pr,
        )  # fmt: skip

    def finish(
        self,
        pr: OurPr,
        revert: OurPr,
        assessment: Assessment,
        shown: Presentation,
    ) -> PrOutcome:
        """A revert PR of ours is there already (a run died after opening it, or a human
        closed it): never a second one; the comment and the label are finished."""
        state = {
            PrState.OPEN: "is open",
            PrState.MERGED: "was merged",
            PrState.CLOSED: "was closed by a human: the change stays",
        }[revert.state]
        detail = f"revert #{revert.number} {state}"
        if self.dry_run:
            return self._outcome(pr, assessment, PrAction.REVERTED, detail, revert=revert)
        self._close_loop(pr, assessment, shown, revert.number)
        return self._outcome(pr, assessment, PrAction.REVERTED, detail, revert=revert)

    # -- steps -----------------------------------------------------------------------------

    def _close_loop(
        self,
        pr: OurPr,
        assessment: Assessment,
        shown: Presentation,
        revert_pr: int | None,
        note: str | None = None,
    ) -> None:
        """The verdict comment (once) and the reverted label: the last two steps."""
        if not has_verdict_comment(self.api, pr.number, self.login):
            body = verdict_comment(
                pr.number, assessment, shown, revert_pr=revert_pr, revert_note=note
            )
            self.api.comment(pr.number, body)
        self.api.add_labels(pr.number, [LABEL_REVERTED])

    def _failed(
        self,
        pr: OurPr,
        assessment: Assessment,
        shown: Presentation,
        why: str,
    ) -> PrOutcome:
        self._close_loop(pr, assessment, shown, None, note=f"No revert: {why}.")
        return self._outcome(pr, assessment, PrAction.REVERT_FAILED, f"regressed; {why}")

    def _open(
        self,
        pr: OurPr,
        assessment: Assessment,
        shown: Presentation,
        auto_merge: bool,
    ) -> _Opened | None:
        assert pr.record is not None
        assert pr.merge_commit_sha is not None
        token = self.settings.github_token
        if token is None:
            raise ConfigError("pushing the revert needs a token: set GITHUB_TOKEN")
        base = pr.base_branch or self.api.default_branch()
        branch = f"{REVERT_BRANCH_PREFIX}{pr.number}"
        facts = RevertFacts(pr.number, pr.merge_commit_sha, pr.merged_at or "an unknown time")
        message = revert_commit_message(facts, assessment)
        auth = RemoteAuth(url=remote_url(self.settings), token=token.get_secret_value())
        existing = self.api.branch_sha(branch)
        files: tuple[str, ...] = ()
        if existing is not None:
            base_sha = self.api.branch_sha(base)
            commits = self.api.branch_commits(base_sha or existing, branch)
            if foreign_commits(commits, self.identity):
                return None
            head, parent = existing, base_sha or existing
        else:
            with tempfile.TemporaryDirectory(prefix="micro-gastown-revert-") as scratch:
                made = make_revert(
                    Path(scratch), auth, head_branch=base, merge_sha=pr.merge_commit_sha,
                    message=message, identity=self.identity,
                )  # fmt: skip
                facts = RevertFacts(facts.number, facts.merge_sha, facts.merged_at, made.mainline)
                local = made.commit
                files = tuple(f.path for f in local.files)
                if self.settings.commit_via is CommitVia.GIT:
                    push(Path(scratch), auth, local.sha, branch, expected=None)
                    head = local.sha
                else:
                    head = publish_via_api(self.api, local, message=message)
                    self.api.set_branch(branch, head, force=False)
                parent = local.parent
        record = FilingRecord(
            fingerprints=(),
            reverts=pr.number,
            base_commit=parent,
            base_branch=base,
            branch=branch,
            tool_version=__version__,
            filed_at=rfc3339_seconds(self.now),
        )
        draft = PrDraft(
            branch=branch,
            base_branch=base,
            base_commit=parent,
            title=revert_title(pr.number),
            body=revert_body(facts, assessment, shown, record=record),
            commit_message=message,
            files=files,
            record=record,
            labels=(LABEL_REVERT,),
            draft=False,
        )  # fmt: skip
        opened, _created = self.api.create_pr(draft)
        self.api.add_labels(opened.number, [LABEL_REVERT])
        note = ""
        if auto_merge:
            try:
                self.api.merge_pr(opened.number, sha=head)
                note = "; merged (auto-merge)"
            except GitHubError as exc:
                note = f"; auto-merge refused by GitHub ({exc}): left open"
        return _Opened(opened, note)

    def _outcome(
        self,
        pr: OurPr,
        assessment: Assessment,
        action: PrAction,
        detail: str,
        *,
        revert: OurPr | None = None,
    ) -> PrOutcome:
        return PrOutcome(
            pr.number,
            pr.url,
            action,
            detail,
            verdict=assessment.verdict,
            look=assessment.look,
            revert_number=revert.number if revert else None,
            revert_url=revert.url if revert else None,
            assessment=assessment,
        )

"""The two ways a filing's branch is made, each a ``BranchMaker`` (github.publish).

Both start from the same local commit, made from the patch on the validated base commit
without touching the runner's working tree, index, HEAD or refs
(:func:`micro_gastown.github.gitpush.make_commit`). Then either ``git push`` sends it over
HTTPS with the token in the environment only, or GitHub re-creates it through the Git
Database API, which GitHub signs (verified) for repositories that require signed commits.
The tree is the same either way, which is how a re-run sees that the branch already holds
this change and pushes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from micro_gastown.app.filer_settings import CommitVia, FilerSettings
from micro_gastown.errors import GitError
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.gitdb import publish_via_api
from micro_gastown.github.gitpush import (
    LocalCommit,
    RemoteAuth,
    fetch,
    has_commit,
    make_commit,
    push,
)
from micro_gastown.github.model import CommitIdentity, PrDraft, RepoRef
from micro_gastown.github.publish import BranchMaker

__all__ = ["branch_maker", "remote_url"]


def remote_url(settings: FilerSettings) -> str:
    """The HTTPS clone URL of the repository (GITHUB_SERVER_URL/owner/name.git)."""
    assert settings.github_repository is not None
    repo = RepoRef.parse(settings.github_repository, setting="github_repository")
    return f"{settings.github_server_url.rstrip('/')}/{repo.full_name}.git"


def branch_maker(
    *,
    repo_top: Path,
    prefix: str | None,
    patch: str,
    settings: FilerSettings,
    client: GitHubApi,
    draft: PrDraft,
    identity: CommitIdentity,
) -> tuple[BranchMaker, Callable[[str], bool]]:
    """The maker for ``settings.commit_via`` and the "already holds it" check."""
    assert settings.github_token is not None
    auth = RemoteAuth(url=remote_url(settings), token=settings.github_token.get_secret_value())
    made: list[LocalCommit] = []

    def local(after: str | None = None) -> LocalCommit:
        if made and made[0].sha == after:
            # The branch already points at this very commit, yet must move (its base
            # branch holds it: merged, then reverted): a later timestamp makes a new one.
            made.clear()
            when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        else:
            when = None
        if not made:
            if not has_commit(repo_top, draft.base_commit):
                fetch(repo_top, auth, draft.base_branch)
                if not has_commit(repo_top, draft.base_commit):
                    raise GitError(
                        f"the change was validated on {draft.base_commit[:12]}, which is not "
                        f"on {draft.base_branch}: refine it again on the current base"
                    )
            made.append(
                make_commit(
                    repo_top,
                    base_commit=draft.base_commit,
                    patch=patch,
                    directory=prefix,
                    message=draft.commit_message,
                    identity=identity,
                    when=when,
                )
            )
        return made[0]

    def same_change(sha: str) -> bool:
        return client.commit_tree(sha) == local().tree

    def make(branch: str, current: str | None) -> str:
        local()
        commit = local(after=current)
        if settings.commit_via is CommitVia.GIT:
            push(repo_top, auth, commit.sha, branch, expected=current)
            return commit.sha
        sha = publish_via_api(client, commit, message=draft.commit_message)
        client.set_branch(branch, sha, force=current is not None)
        return sha

    return make, same_change

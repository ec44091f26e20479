"""The revert of a merged evolution PR, made in a scratch repository of its own.

Why a scratch repository: ``git revert`` needs a working tree, an index and HEAD, and the
runner's checkout's are the user's (or the CI workspace's): they, and its refs, are never
touched. A fresh ``git init`` in a directory the caller owns receives two shallow fetches
only, the head branch at depth 1 and the merge commit at depth 2, which hold every tree a
revert reads; a large repository's history is never downloaded. The token reaches git in
the environment only (:meth:`.gitpush.RemoteAuth.environment`), never argv nor
``.git/config``, and every command runs through :func:`.gitrun.run_git`.

Why a revert is a three-way merge: reverting commit C, whose kept parent is P, onto the
branch head H merges with base = C, ours = H and theirs = P. What leads from C back to P
(the undoing of C's change) is laid onto H; a later change on H elsewhere is kept, and a
later change to the very lines C changed conflicts, as it would for a human. Only the
trees of C, P and H matter, hence the shallow fetches. For a merge commit P is its first
parent (``-m 1``: the branch the PR was merged into); a squash merge, or a rebase of one
commit, has one parent and needs no ``-m``. git 2.39 has no ``merge-tree --merge-base``,
so the merge runs as ``git revert --no-commit`` in the scratch checkout of H; then
``write-tree`` and ``commit-tree`` make the commit with our message, identity and time,
the same commit id every time for the same ``when``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from micro_gastown.errors import (
    GitError,
    GitHubNotFoundError,
    NothingToRevertError,
    RevertConflictError,
)
from micro_gastown.github.gitpush import (
    LocalCommit,
    RemoteAuth,
    changed_files,
    fetch,
    identity_env,
)
from micro_gastown.github.gitrun import run_git, run_git_bytes
from micro_gastown.github.model import CommitIdentity

__all__ = ["HEAD_REF", "REVERTED_REF", "RevertCommit", "make_revert"]

HEAD_REF: Final = "refs/micro-gastown/revert-onto"
"""The scratch repository's ref for the fetched head of the branch the revert goes on."""
REVERTED_REF: Final = "refs/micro-gastown/reverted"
"""The scratch repository's ref for the fetched commit being reverted."""

_COMMIT_ID: Final = re.compile(r"^[0-9a-f]{40}$")
_SHOWN_PATHS: Final = 10


@dataclass(frozen=True, slots=True)
class RevertCommit:
    """A revert made in the scratch repository, reachable from no ref of the remote yet.

    Push ``commit`` with :func:`.gitpush.push` (its ``repo_dir`` is the scratch
    repository) or publish it with :func:`.gitdb.publish_via_api`, while the scratch
    directory still exists."""

    commit: LocalCommit
    """Its parent is the head of the branch the revert goes on."""
    reverted: str
    """The commit it undoes (the PR's merge commit)."""
    mainline: int | None
    """1 when ``reverted`` is a merge commit (``git revert -m 1``: its first parent, the
    branch the PR was merged into, is what the revert restores); None when it has one
    parent (a squash merge, or a rebase of one commit)."""


def make_revert(
    scratch: Path,
    auth: RemoteAuth,
    *,
    head_branch: str,
    merge_sha: str,
    message: str,
    identity: CommitIdentity,
    when: datetime | None = None,
) -> RevertCommit:
    """The commit that undoes ``merge_sha`` on top of ``head_branch``'s current head.

    ``scratch`` is an empty directory the caller owns (and removes). Raises
    RevertConflictError when later changes on the branch clash with the revert (the
    scratch checkout is put back as it was), NothingToRevertError when the branch no
    longer holds the change, the GitHub error of :func:`.gitrun.remote_error` when the
    branch or the commit cannot be fetched, GitError for a commit with more than two
    parents or any other git failure.
    """
    if not _COMMIT_ID.match(merge_sha):
        raise GitError(
            "not a commit id (40 lowercase hex digits)", setting="merge commit", value=merge_sha
        )
    _init_scratch(scratch)
    head = fetch(scratch, auth, head_branch, depth=1, into=HEAD_REF)
    _fetch_reverted(scratch, auth, merge_sha)
    mainline = _mainline(scratch, merge_sha)
    env = identity_env(identity, when or datetime.now(UTC))
    run_git(["checkout", "--quiet", "--detach", head], cwd=scratch)
    revert = ["revert", "--no-commit", *(["-m", str(mainline)] if mainline else []), merge_sha]
    try:
        run_git(revert, cwd=scratch, env=env)
    except GitError as exc:
        conflicted = _unmerged_paths(scratch)
        _restore(scratch, head)
        if not conflicted:
            raise GitError(
                f"git revert of {merge_sha[:12]} on {head_branch} failed: {exc.reason}",
                api_message=exc.api_message,
            ) from None
        raise RevertConflictError(
            f"reverting {merge_sha[:12]} on {head_branch} conflicts with later changes to "
            f"{_listed(conflicted)}: a human must resolve it",
            paths=conflicted,
            api_message=exc.api_message,
        ) from None
    tree = run_git(["write-tree"], cwd=scratch).strip()
    if tree == run_git(["rev-parse", f"{head}^{{tree}}"], cwd=scratch).strip():
        raise NothingToRevertError(
            f"{head_branch} at {head[:12]} no longer holds the change of {merge_sha[:12]}: "
            "reverting it changes nothing (reverted already, or never merged there)"
        )
    sha = run_git(
        ["commit-tree", "--no-gpg-sign", tree, "-p", head, "-F", "-"],
        cwd=scratch,
        env=env,
        stdin=message.encode(),
    ).strip()
    commit = LocalCommit(sha, tree, head, changed_files(scratch, head, sha), scratch)
    return RevertCommit(commit, merge_sha, mainline)


def _unmerged_paths(repo_dir: Path) -> tuple[str, ...]:
    """The paths git left unmerged in the index, in git's order, each once."""
    raw = run_git_bytes(["diff", "--name-only", "--diff-filter=U", "-z"], repo_dir)
    paths = raw.decode("utf-8", "replace").split("\0")
    return tuple(dict.fromkeys(path for path in paths if path))


def _init_scratch(scratch: Path) -> None:
    """A new repository in ``scratch``, which must be an empty directory: never a checkout
    someone works in. No template (no sample hooks, nothing to copy)."""
    if not scratch.is_dir() or any(scratch.iterdir()):
        raise GitError(
            "the scratch repository needs an empty directory", setting="scratch", value=scratch
        )
    run_git(["init", "--quiet", "--template=", "."], cwd=scratch)


def _fetch_reverted(scratch: Path, auth: RemoteAuth, sha: str) -> None:
    """The commit to revert and its parents (depth 2: their trees are all a revert reads).

    GitHub answers a commit id none of its refs reaches with upload-pack's "not our
    ref", which :func:`.gitrun.remote_error` leaves a plain GitError: named here."""
    try:
        fetch(scratch, auth, sha, depth=2, into=REVERTED_REF)
    except GitError as exc:
        if "not our ref" not in (exc.api_message or ""):
            raise
        raise GitHubNotFoundError(
            f"merge commit {sha[:12]} cannot be fetched from {auth.url}: it is not there, "
            "or no branch or tag reaches it any more",
            api_message=exc.api_message,
        ) from None


def _mainline(scratch: Path, sha: str) -> int | None:
    """1 for a merge commit, None for a one-parent commit; others cannot be reverted here."""
    line = run_git(["rev-list", "--parents", "--max-count=1", sha], cwd=scratch).split()
    parents = len(line) - 1
    if parents == 2:
        return 1
    if parents == 1:
        return None
    if parents == 0:
        raise GitError(f"{sha[:12]} is the repository's first commit: there is nothing to revert")
    raise GitError(
        f"{sha[:12]} merges {parents} parents (an octopus merge): it is not reverted "
        "automatically, as the side to keep is not clear"
    )


def _restore(scratch: Path, head: str) -> None:
    """The scratch checkout back at ``head``: no half-done revert, no leftover file."""
    run_git(["reset", "--hard", "--quiet", head], cwd=scratch)
    run_git(["clean", "-ffdq"], cwd=scratch)


def _listed(paths: tuple[str, ...]) -> str:
    shown = ", ".join(paths[:_SHOWN_PATHS])
    more = len(paths) - _SHOWN_PATHS
    return f"{shown} and {more} more" if more > 0 else shown

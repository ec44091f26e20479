"""The branch made by GitHub: the local commit re-created through the Git Database API.

A repository that requires signed commits refuses a pushed commit we cannot sign; a
commit GitHub itself creates (no author given) is signed by GitHub and shown as
*verified*. The local commit (:func:`.gitpush.make_commit`) stays the single source of the
change: each blob it adds goes up as bytes, one tree goes on the parent's tree, and the
commit on the parent. GitHub's blob and tree ids must equal git's own, which proves the
published tree is exactly the one that was validated (and lets a re-run compare trees).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from micro_gastown.errors import GitError, GitHubError
from micro_gastown.github.api import FileMode, GitHubApi, TreeEntry
from micro_gastown.github.gitpush import LocalCommit, read_blob

__all__ = ["publish_via_api"]

_MODES = frozenset(mode.value for mode in FileMode)


def publish_via_api(
    api: GitHubApi,
    local: LocalCommit,
    *,
    message: str,
    read_content: Callable[[Path, str], bytes] = read_blob,
) -> str:
    """Create ``local``'s change as a GitHub-made commit on its parent; return its id.

    The caller points the branch at it. ``read_content(repo_dir, blob)`` reads a blob's
    bytes (``git cat-file blob``). Raises GitError for a change the API cannot carry (a
    submodule), GitHubError when GitHub's blob or tree differs from git's own.
    """
    unsupported = [f.path for f in local.files if f.mode not in _MODES]
    if unsupported:
        raise GitError(
            "the change touches a submodule or an unknown file type, which the Git "
            f"Database way cannot publish: {', '.join(unsupported)}"
        )
    uploaded: set[str] = set()
    entries: list[TreeEntry] = []
    for changed in local.files:
        if changed.blob is not None and changed.blob not in uploaded:
            stored = api.create_blob(read_content(local.repo_dir, changed.blob))
            if stored != changed.blob:
                raise GitHubError(
                    f"GitHub stored {changed.path} as blob {stored}, not {changed.blob}: "
                    "the published commit would differ from the validated one"
                )
            uploaded.add(changed.blob)
        entries.append(TreeEntry(changed.path, changed.mode, changed.blob))
    tree = api.create_tree(api.commit_tree(local.parent), entries)
    if tree != local.tree:
        raise GitHubError(
            f"GitHub's tree {tree} for the change is not the local commit's {local.tree}: "
            "the published commit would differ from the validated one"
        )
    return api.create_commit(message, tree, [local.parent])

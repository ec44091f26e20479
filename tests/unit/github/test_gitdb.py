"""The Git Database way: the local commit's change re-created by GitHub, call by call."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from micro_gastown.errors import GitError, GitHubError
from micro_gastown.github.api import TreeEntry
from micro_gastown.github.gitdb import publish_via_api
from micro_gastown.github.gitpush import ChangedFile, LocalCommit

PARENT = "p" * 40
PARENT_TREE = "b" * 40
NEW_TREE = "c" * 40
NEW_COMMIT = "d" * 40
REPO = Path("/nowhere/repo")


def git_blob_id(content: bytes) -> str:
    """What git (and GitHub) name a blob: sha1 of ``blob <size>\\0<content>``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


GRAPH = b'module Graph where\r\nnodes = ["a", "b", "c"]\n'
TEMPLATE = b"hello {{name}}\n\x00\xff binary tail"
CONTENTS = {git_blob_id(GRAPH): GRAPH, git_blob_id(TEMPLATE): TEMPLATE}


@dataclass
class RecordingApi:
    """The five Git Database calls, recorded; blob ids as git computes them."""

    tree_answer: str = NEW_TREE
    blob_answer: str | None = None
    calls: list[tuple[object, ...]] = field(default_factory=list)

    def create_blob(self, content: bytes) -> str:
        self.calls.append(("create_blob", content))
        return self.blob_answer or git_blob_id(content)

    def commit_tree(self, commit_sha: str) -> str:
        self.calls.append(("commit_tree", commit_sha))
        return PARENT_TREE

    def create_tree(self, base_tree: str, entries: Sequence[TreeEntry]) -> str:
        self.calls.append(("create_tree", base_tree, tuple(entries)))
        return self.tree_answer

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        self.calls.append(("create_commit", message, tree, tuple(parents)))
        return NEW_COMMIT

    def set_branch(self, branch: str, sha: str, *, force: bool) -> None:
        self.calls.append(("set_branch", branch, sha, force))


def read(repo_dir: Path, blob: str) -> bytes:
    assert repo_dir == REPO
    return CONTENTS[blob]


def local_commit(*files: ChangedFile, tree: str = NEW_TREE) -> LocalCommit:
    return LocalCommit(sha="e" * 40, tree=tree, parent=PARENT, files=files, repo_dir=REPO)


CHANGE = local_commit(
    ChangedFile("dsl/Graph.hs", "100644", git_blob_id(GRAPH)),
    ChangedFile("dsl/run.sh", "100755", git_blob_id(TEMPLATE)),
    ChangedFile("dsl/templates/old.txt", "100644", None),
)


def publish(api: RecordingApi, local: LocalCommit = CHANGE) -> str:
    return publish_via_api(api, local, message="sleeptime: add node c", read_content=read)


def test_blobs_then_one_tree_on_the_parent_then_an_unsigned_commit() -> None:
    api = RecordingApi()
    assert publish(api) == NEW_COMMIT
    assert api.calls == [
        ("create_blob", GRAPH),
        ("create_blob", TEMPLATE),
        ("commit_tree", PARENT),
        (
            "create_tree",
            PARENT_TREE,
            (
                TreeEntry("dsl/Graph.hs", "100644", git_blob_id(GRAPH)),
                TreeEntry("dsl/run.sh", "100755", git_blob_id(TEMPLATE)),
                TreeEntry("dsl/templates/old.txt", "100644", None),
            ),
        ),
        ("create_commit", "sleeptime: add node c", NEW_TREE, (PARENT,)),
    ]


def test_the_same_content_twice_is_uploaded_once() -> None:
    api = RecordingApi()
    twice = local_commit(
        ChangedFile("a.txt", "100644", git_blob_id(GRAPH)),
        ChangedFile("b.txt", "100644", git_blob_id(GRAPH)),
    )
    publish(api, twice)
    assert [call for call in api.calls if call[0] == "create_blob"] == [("create_blob", GRAPH)]


def test_a_blob_github_names_differently_stops_before_any_tree() -> None:
    api = RecordingApi(blob_answer="f" * 40)
    with pytest.raises(GitHubError, match=r"stored dsl/Graph\.hs as blob"):
        publish(api)
    assert [call[0] for call in api.calls] == ["create_blob"]


def test_a_tree_that_differs_from_the_local_one_makes_no_commit() -> None:
    api = RecordingApi(tree_answer="0" * 40)
    with pytest.raises(GitHubError, match="not the local commit's"):
        publish(api)
    assert "create_commit" not in [call[0] for call in api.calls]


def test_a_submodule_change_is_refused_before_any_call() -> None:
    api = RecordingApi()
    with pytest.raises(GitError, match=r"submodule.*vendor/lib"):
        publish(api, local_commit(ChangedFile("vendor/lib", "160000", "a" * 40)))
    assert api.calls == []


def test_only_deletions_upload_nothing() -> None:
    api = RecordingApi()
    publish(api, local_commit(ChangedFile("gone.txt", "100644", None)))
    assert [call[0] for call in api.calls] == ["commit_tree", "create_tree", "create_commit"]

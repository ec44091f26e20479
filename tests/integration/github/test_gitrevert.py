"""The revert of a merged PR, built in a scratch repository from the GitHub simulator.

The sim's PRs are merged into real merge commits (``sim.merge``); the revert fetches
them over real git smart HTTP with the token as Basic auth, as from GitHub. Nothing here
leaves tmp_path or 127.0.0.1.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from githubsim.fixtures import GitHubServer
from githubsim.gitstore import Person
from micro_gastown.errors import (
    GitError,
    GitHubError,
    GitHubNotFoundError,
    NothingToRevertError,
    RevertConflictError,
)
from micro_gastown.github.gitpush import RemoteAuth, push
from micro_gastown.github.gitrevert import RevertCommit, make_revert
from micro_gastown.github.model import CommitIdentity

BOT = "micro-gastown[bot]"
IDENTITY = CommitIdentity(login="sleeptime[bot]", name="Sleeptime Bot", email="bot@example.test")
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
MESSAGE = 'Revert "sleeptime: add node c"\n\nThis reverts the merge of #1: it made things worse.\n'
GRAPH = 'module Graph where\nnodes :: [String]\nnodes = ["a", "b"]\n\nedges = []\n'
GRAPH_WITH_C = GRAPH.replace('"b"]', '"b", "c"]')


def git(cwd: Path, *args: str) -> str:
    """A test's own git command, to inspect what was made."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    return done.stdout.decode()


@pytest.fixture
def sim_repo(github_server: GitHubServer) -> GitHubServer:
    """The sim's main with a real Graph.hs, one commit after the seed (so the seed is
    history a shallow fetch never needs)."""
    github_server.sim.add_commit("main", {"src/Graph.hs": GRAPH}, message="graph\n")
    return github_server


@pytest.fixture
def auth(sim_repo: GitHubServer) -> RemoteAuth:
    return RemoteAuth(sim_repo.clone_url, sim_repo.tokens[BOT])


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    directory = tmp_path / "scratch"
    directory.mkdir()
    return directory


def merged_pr(server: GitHubServer, files: dict[str, str | None]) -> tuple[int, str]:
    """Our PR (a branch off main changing ``files``) merged by a maintainer: its number and
    merge commit."""
    sim = server.sim
    branch = f"sleeptime/2025-03-04-template-{len(sim.pulls)}"
    sim.add_commit(branch, files, login=BOT, message="sleeptime: add node c\n")
    pull = sim.add_pull(branch=branch, author=BOT, title="sleeptime: add node c")
    return pull.number, sim.merge(pull.number)


def revert(scratch: Path, auth: RemoteAuth, merge_sha: str) -> RevertCommit:
    return make_revert(
        scratch,
        auth,
        head_branch="main",
        merge_sha=merge_sha,
        message=MESSAGE,
        identity=IDENTITY,
        when=WHEN,
    )


def tree_of(server: GitHubServer, sha: str) -> str:
    return server.sim.git.commit(sha).tree


def test_a_merge_commit_is_reverted_onto_the_head_and_can_be_pushed(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path, tmp_path: Path
) -> None:
    sim = sim_repo.sim
    before = sim.branch("main")
    assert before is not None
    number, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C, "src/new.txt": "x\n"})

    made = revert(scratch, auth, merge)

    assert made.mainline == 1
    assert made.reverted == merge
    assert made.commit.parent == merge == sim.branch("main")
    assert made.commit.tree == tree_of(sim_repo, before)
    assert made.commit.repo_dir == scratch
    assert {(f.path, f.deleted) for f in made.commit.files} == {
        ("src/Graph.hs", False),
        ("src/new.txt", True),
    }
    assert git(scratch, "show", "-s", "--format=%an|%ae|%cn|%ce|%at|%ct|%P", made.commit.sha) == (
        f"Sleeptime Bot|bot@example.test|Sleeptime Bot|bot@example.test"
        f"|{int(WHEN.timestamp())}|{int(WHEN.timestamp())}|{merge}\n"
    )
    assert git(scratch, "cat-file", "commit", made.commit.sha).endswith("\n\n" + MESSAGE)
    # Shallow: the history before the merge's parents never came.
    first = git(sim.git.path, "rev-list", "--max-parents=0", "main").strip()
    assert (scratch / ".git" / "shallow").is_file()
    assert subprocess.run(["git", "cat-file", "-e", first], cwd=scratch).returncode != 0
    # The same inputs make the same commit.
    again = tmp_path / "again"
    again.mkdir()
    assert revert(again, auth, merge).commit.sha == made.commit.sha

    push(scratch, auth, made.commit.sha, f"sleeptime/revert-{number}", expected=None)
    assert sim.branch(f"sleeptime/revert-{number}") == made.commit.sha
    assert tree_of(sim_repo, made.commit.sha) == tree_of(sim_repo, before)


def test_a_later_unrelated_commit_is_kept(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    sim = sim_repo.sim
    before = sim.branch("main")
    assert before is not None
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C})
    later = sim.add_commit("main", {"README.md": "# agents, documented\n"}, message="docs\n")

    made = revert(scratch, auth, merge)

    assert made.commit.parent == later
    original = git(sim.git.path, "rev-parse", f"{before}:src/Graph.hs").strip()
    expected = sim.git.write_tree(tree_of(sim_repo, later), [("src/Graph.hs", "100644", original)])
    assert made.commit.tree == expected
    assert git(scratch, "show", f"{made.commit.sha}:README.md") == "# agents, documented\n"
    assert git(scratch, "show", f"{made.commit.sha}:src/Graph.hs") == GRAPH


def test_a_single_parent_commit_is_reverted_without_mainline(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    """A squash merge (or a rebase of one commit) lands as one commit with one parent."""
    sim = sim_repo.sim
    before = sim.branch("main")
    assert before is not None
    squashed = sim.add_commit("main", {"src/Graph.hs": GRAPH_WITH_C}, login=BOT)
    later = sim.add_commit("main", {"NOTES.md": "notes\n"}, message="notes\n")

    made = revert(scratch, auth, squashed)

    assert made.mainline is None
    assert made.commit.parent == later
    assert git(scratch, "show", f"{made.commit.sha}:src/Graph.hs") == GRAPH
    assert git(scratch, "show", f"{made.commit.sha}:NOTES.md") == "notes\n"
    assert [f.path for f in made.commit.files] == ["src/Graph.hs"]


def test_a_later_change_to_the_same_lines_is_a_conflict_naming_the_path(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    sim = sim_repo.sim
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C, "src/ok.txt": "ok\n"})
    later = sim.add_commit("main", {"src/Graph.hs": GRAPH_WITH_C.replace('"c"]', '"c", "d"]')})

    with pytest.raises(
        RevertConflictError, match=r"conflicts with later changes to src/Graph\.hs:"
    ) as caught:
        revert(scratch, auth, merge)

    assert caught.value.paths == ("src/Graph.hs",)
    assert "CONFLICT (content): Merge conflict in src/Graph.hs" in (caught.value.api_message or "")
    # The scratch checkout is back at the head: no half-done revert left in it.
    assert git(scratch, "rev-parse", "HEAD").strip() == later
    assert git(scratch, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (scratch / ".git" / "REVERT_HEAD").exists()


def test_a_change_already_reverted_by_hand_is_nothing_to_revert(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    sim = sim_repo.sim
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C})
    sim.add_commit("main", {"src/Graph.hs": GRAPH}, message='Revert "sleeptime: add node c"\n')

    with pytest.raises(NothingToRevertError, match=f"no longer holds the change of {merge[:12]}"):
        revert(scratch, auth, merge)


def test_an_unknown_merge_commit_is_a_clear_error_without_the_token(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(
        GitHubNotFoundError, match=f"merge commit {unknown[:12]} cannot be fetched"
    ) as caught:
        revert(scratch, auth, unknown)
    error = caught.value
    assert f"not our ref {unknown}" in (error.api_message or "")
    encoded = base64.b64encode(f"x-access-token:{auth.token}".encode()).decode()
    for text in (str(error), error.api_message or "", repr(error)):
        assert auth.token not in text
        assert encoded not in text


def test_a_wrong_token_cannot_fetch(sim_repo: GitHubServer, scratch: Path) -> None:
    wrong = RemoteAuth(sim_repo.clone_url, "ghs_" + "x" * 36)
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C})
    with pytest.raises(GitHubError, match="token cannot read the repository") as caught:
        revert(scratch, wrong, merge)
    assert "x" * 36 not in (caught.value.api_message or "")


def test_an_octopus_merge_is_not_reverted(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    sim = sim_repo.sim
    main = sim.branch("main")
    assert main is not None
    sides = [sim.add_commit(f"side-{n}", {f"side{n}.txt": f"{n}\n"}) for n in range(2)]
    person = Person("Alice", "alice@example.test")
    octopus = sim.git.write_commit(
        tree_of(sim_repo, main), (main, *sides), "octopus\n", person, person
    )
    sim.git.set_ref("refs/heads/main", octopus)

    with pytest.raises(GitError, match="merges 3 parents"):
        revert(scratch, auth, octopus)


@pytest.mark.parametrize("bad", ["main", "0123abc", "0123456789ABCDEF0123456789ABCDEF01234567"])
def test_a_merge_sha_that_is_no_commit_id_is_refused_before_any_fetch(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path, bad: str
) -> None:
    with pytest.raises(GitError, match="not a commit id"):
        revert(scratch, auth, bad)
    assert list(scratch.iterdir()) == []
    assert not sim_repo.sim.requests(contains=".git/")


def test_a_scratch_that_is_not_empty_is_refused(
    sim_repo: GitHubServer, auth: RemoteAuth, scratch: Path
) -> None:
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C})
    (scratch / "work.txt").write_text("someone's file\n")
    with pytest.raises(GitError, match="needs an empty directory"):
        revert(scratch, auth, merge)
    assert [p.name for p in scratch.iterdir()] == ["work.txt"]


def test_only_the_scratch_directory_is_written_and_the_token_stays_out(
    sim_repo: GitHubServer,
    auth: RemoteAuth,
    scratch: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, merge = merged_pr(sim_repo, {"src/Graph.hs": GRAPH_WITH_C})
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", str(sim_repo.sim.git.path), str(checkout))
    launched: list[tuple[list[str], Path]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        if threading.current_thread() is threading.main_thread():  # not the sim's threads
            launched.append((list(args), Path(str(kwargs["cwd"]))))
        return real_popen(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    outside = sim_repo.sim.git_root
    before = _files(tmp_path, outside)
    monkeypatch.setattr(subprocess, "Popen", recording_popen)

    made = revert(scratch, auth, merge)

    monkeypatch.undo()
    after = _files(tmp_path, outside)
    changed = {path for path in after.keys() | before.keys() if after.get(path) != before.get(path)}
    assert changed
    assert all(scratch in path.parents for path in changed), sorted(changed)
    assert {cwd for _, cwd in launched} == {scratch}
    encoded = base64.b64encode(f"x-access-token:{auth.token}".encode()).decode()
    assert not [argv for argv, _ in launched if any(auth.token in a or encoded in a for a in argv)]
    assert any("fetch" in argv for argv, _ in launched)
    for path in (scratch / ".git").rglob("*"):
        if path.is_file():
            assert auth.token.encode() not in path.read_bytes(), path
            assert encoded.encode() not in path.read_bytes(), path
    assert git(checkout, "rev-parse", "HEAD").strip() != made.commit.sha


def _files(root: Path, skipped: Path) -> dict[Path, tuple[int, int]]:
    """Every file under ``root`` but ``skipped`` (the sim's own repository), with its size
    and modification time."""
    return {
        path: (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and skipped not in path.parents
    }

"""The throw-away worktree, with real git in tmp_path: created from HEAD, removed whatever
happens, right for a checkout in a subdirectory, and ``git apply --check`` against the
user's untouched checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from micro_gastown.errors import DslError, ExitCode
from micro_gastown.refine.diffs import combined, file_diff
from micro_gastown.refine.model import CheckOutcome
from micro_gastown.refine.worktree import APPLY_CHECK, Worktree, open_worktree

FAQ = "templates/faq.jinja"
FAQ_TEXT = "Answer {{ question }}\nbriefly\nand politely.\n"


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git that reads no config of this machine and finds no repository above tmp_path."""
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def make_repo(root: Path, files: dict[str, str], *, commit: bool = True) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def repo(git_env: Path) -> Path:
    return make_repo(
        git_env / "repo",
        {FAQ: FAQ_TEXT, "src/Triage/Types.hs": "module Triage.Types where\n"},
    )


def registered_worktrees(repo: Path) -> list[str]:
    return [
        line.removeprefix("worktree ")
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def assert_removed(repo: Path, worktree: Worktree) -> None:
    assert not worktree.root.exists()
    assert not worktree.root.parent.exists()
    assert registered_worktrees(repo) == [str(repo)]
    assert not list((repo / ".git" / "worktrees").glob("*"))


def test_a_worktree_of_head_is_created_and_removed(repo: Path) -> None:
    with open_worktree(repo) as worktree:
        assert worktree.prefix == ""
        assert worktree.checkout_dir == worktree.root
        assert str(worktree.root) in registered_worktrees(repo)
        assert worktree.read_text(FAQ) == FAQ_TEXT
        assert worktree.base_commit == git(repo, "rev-parse", "HEAD").strip()
        assert git(worktree.root, "status", "--porcelain") == ""
    assert_removed(repo, worktree)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_the_worktree_is_removed_when_the_body_raises(repo: Path, error: BaseException) -> None:
    worktree = open_worktree(repo)

    def body() -> None:
        with worktree:
            worktree.write_text(FAQ, "changed\n")
            (worktree.root / "untracked.txt").write_text("left behind?\n")
            raise error

    with pytest.raises(type(error)):
        body()
    assert_removed(repo, worktree)
    assert (repo / FAQ).read_text() == FAQ_TEXT


def test_close_twice_is_harmless(repo: Path) -> None:
    worktree = open_worktree(repo)
    worktree.close()
    worktree.close()
    assert_removed(repo, worktree)


def test_writes_go_to_the_worktree_only(repo: Path) -> None:
    with open_worktree(repo) as worktree:
        worktree.write_text(FAQ, "new text\r\nkept as is")
        assert (worktree.root / FAQ).read_bytes() == b"new text\r\nkept as is"
        assert worktree.read_text(FAQ) == "new text\r\nkept as is"
        assert (repo / FAQ).read_text() == FAQ_TEXT


def test_the_worktree_is_head_not_the_uncommitted_checkout(repo: Path) -> None:
    (repo / FAQ).write_text("uncommitted\n")
    (repo / "new.txt").write_text("untracked\n")
    with open_worktree(repo) as worktree:
        assert worktree.read_text(FAQ) == FAQ_TEXT
        assert worktree.dirty_paths() == ("new.txt", FAQ)


def test_a_clean_checkout_has_no_dirty_paths(repo: Path) -> None:
    with open_worktree(repo) as worktree:
        assert worktree.dirty_paths() == ()


def test_an_applied_patch_round_trip(repo: Path) -> None:
    new_text = FAQ_TEXT.replace("briefly", "in two sentences")
    with open_worktree(repo) as worktree:
        old = worktree.read_text(FAQ)
        worktree.write_text(FAQ, new_text)
        patch = combined([file_diff(FAQ, old, worktree.read_text(FAQ))])
        result = worktree.check_apply(patch)
    assert result.name == APPLY_CHECK
    assert result.outcome == CheckOutcome.PASSED, result
    assert (repo / FAQ).read_text() == FAQ_TEXT  # --check writes nothing
    subprocess.run(["git", "apply", "-"], cwd=repo, input=patch.encode(), check=True, timeout=60)
    assert (repo / FAQ).read_text() == new_text


def test_a_patch_that_no_longer_applies_to_a_checkout_changed_meanwhile(repo: Path) -> None:
    with open_worktree(repo) as worktree:
        patch = combined([file_diff(FAQ, FAQ_TEXT, FAQ_TEXT.replace("briefly", "shortly"))])
        (repo / FAQ).write_text(FAQ_TEXT.replace("briefly", "at length"))
        result = worktree.check_apply(patch)
        assert worktree.dirty_paths() == (FAQ,)
    assert result.outcome == CheckOutcome.FAILED
    assert result.reason == f"error: {FAQ}: patch does not apply"
    assert FAQ in result.output


def test_an_empty_patch_fails(repo: Path) -> None:
    with open_worktree(repo) as worktree:
        assert worktree.check_apply("").outcome == CheckOutcome.FAILED


def test_a_patch_outside_the_checkout_is_refused(repo: Path) -> None:
    patch = file_diff("../escape.txt", "a\n", "b\n").diff
    (repo.parent / "escape.txt").write_text("a\n")
    with open_worktree(repo) as worktree:
        result = worktree.check_apply(patch)
    assert result.outcome == CheckOutcome.FAILED


@pytest.fixture
def nested(git_env: Path) -> tuple[Path, Path]:
    repo = make_repo(
        git_env / "mono",
        {
            "examples/sample/templates/faq.jinja": FAQ_TEXT,
            "templates/faq.jinja": "the top-level file, not the checkout's\n",
        },
    )
    return repo, repo / "examples" / "sample"


def test_a_checkout_in_a_subdirectory(nested: tuple[Path, Path]) -> None:
    repo, checkout = nested
    with open_worktree(checkout) as worktree:
        assert worktree.prefix == "examples/sample"
        assert worktree.checkout_dir == worktree.root / "examples" / "sample"
        assert worktree.read_text(FAQ) == FAQ_TEXT
        new_text = FAQ_TEXT.replace("briefly", "shortly")
        worktree.write_text(FAQ, new_text)
        assert (worktree.root / "examples/sample" / FAQ).read_text() == new_text
        good = file_diff(FAQ, FAQ_TEXT, new_text).diff
        assert worktree.check_apply(good).outcome == CheckOutcome.PASSED
        (checkout / "untracked.txt").write_text("x\n")
        (repo / "outside.txt").write_text("not in the checkout\n")
        assert worktree.dirty_paths() == ("untracked.txt",)
    assert_removed(repo, worktree)


def test_a_subdirectory_patch_that_does_not_apply_is_not_skipped(nested: tuple[Path, Path]) -> None:
    """Run inside the subdirectory, git apply would skip the path and report success."""
    _, checkout = nested
    bad = file_diff(FAQ, "something\nelse\nentirely\n", "x\n").diff
    with open_worktree(checkout) as worktree:
        result = worktree.check_apply(bad)
    assert result.outcome == CheckOutcome.FAILED


def test_a_subdirectory_patch_is_checked_against_the_subdirectorys_file(
    nested: tuple[Path, Path],
) -> None:
    _, checkout = nested
    top_text = "the top-level file, not the checkout's\n"
    wrong_file = file_diff(FAQ, top_text, "changed\n").diff
    with open_worktree(checkout) as worktree:
        assert worktree.check_apply(wrong_file).outcome == CheckOutcome.FAILED


def test_not_a_repository(git_env: Path) -> None:
    plain = git_env / "plain"
    plain.mkdir()
    with pytest.raises(DslError) as raised:
        open_worktree(plain)
    assert str(plain) in str(raised.value)
    assert "not inside a git work tree" in str(raised.value)
    assert raised.value.exit_code == ExitCode.INPUT


def test_a_missing_directory(git_env: Path) -> None:
    with pytest.raises(DslError, match="no such directory"):
        open_worktree(git_env / "missing")


def test_a_repository_without_a_commit(git_env: Path) -> None:
    empty = make_repo(git_env / "empty", {"a.txt": "a\n"}, commit=False)
    with pytest.raises(DslError, match="HEAD has no commit") as raised:
        open_worktree(empty)
    assert str(empty) in str(raised.value)


def test_git_missing(repo: Path, git_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = git_env / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(DslError, match="git is not installed") as raised:
        open_worktree(repo)
    assert str(repo) in str(raised.value)


def test_a_checkout_directory_not_in_head(repo: Path) -> None:
    untracked = repo / "untracked-dir"
    untracked.mkdir()
    (untracked / "x.txt").write_text("x\n")
    with pytest.raises(DslError, match="not in the commit HEAD"):
        open_worktree(untracked)
    assert registered_worktrees(repo) == [str(repo)]


def test_hooks_do_not_run(repo: Path, git_env: Path) -> None:
    marker = git_env / "hook-ran"
    hook = f"#!/bin/sh\ntouch {marker}\n"
    for hooks in (repo / ".git" / "hooks", git_env / "custom-hooks"):
        hooks.mkdir(exist_ok=True)
        script = hooks / "post-checkout"
        script.write_text(hook)
        script.chmod(0o755)
    git(repo, "config", "core.hooksPath", str(git_env / "custom-hooks"))
    with open_worktree(repo) as worktree:
        worktree.dirty_paths()
    assert not marker.exists()


def test_git_dir_in_the_environment_is_ignored(
    repo: Path, git_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_repo(git_env / "other", {FAQ: "another repository\n"})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    with open_worktree(repo) as worktree:
        assert worktree.read_text(FAQ) == FAQ_TEXT


def test_a_path_that_is_a_symlink_in_head_is_not_written(git_env: Path) -> None:
    repo = make_repo(git_env / "links", {FAQ: FAQ_TEXT})
    os.symlink("faq.jinja", repo / "templates" / "alias.jinja")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link")
    with open_worktree(repo) as worktree:
        with pytest.raises(DslError, match="symbolic link"):
            worktree.write_text("templates/alias.jinja", "x\n")
        with pytest.raises(DslError, match="symbolic link"):
            worktree.read_text("templates/alias.jinja")
        with pytest.raises(DslError, match="does not exist"):
            worktree.write_text("templates/new.jinja", "x\n")
        assert worktree.read_text(FAQ) == FAQ_TEXT

"""The sim's git objects: a real bare repository, written and read with git plumbing.

REST writes (blobs, trees, commits, refs) and the test-side controls (a merge, a human's
commit) all go through here, and a ``git push`` over smart HTTP lands in the same
repository, so the API and git always see the same refs and objects.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CommitInfo", "GitFailed", "GitStore", "Person", "TreeItem"]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitFailed(Exception):
    """A plumbing command failed (the REST layer answers 422 or 404 for it)."""


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    date: str = "2024-05-01T12:00:00Z"
    """ISO 8601 (UTC), as GitHub shows it; written to git as such."""


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True, slots=True)
class TreeItem:
    mode: str
    type: str
    sha: str
    path: str
    size: int | None


def _git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        HOME=str(home),
        LC_ALL="C",
    )
    return env


class GitStore:
    """One bare repository at ``path`` (``<root>/<owner>/<name>.git``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._env = _git_env(path.parent)

    def init(self, default_branch: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._git("init", "--bare", "--quiet", f"--initial-branch={default_branch}")
        self._git("config", "http.receivepack", "true")

    def _git(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            ["git", f"--git-dir={self.path}", *args],
            input=stdin,
            capture_output=True,
            env={**self._env, **(env or {})},
            check=False,
        )
        if check and result.returncode != 0:
            raise GitFailed(result.stderr.decode(errors="replace").strip() or f"git {args[0]}")
        return result

    def _out(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        return self._git(*args, stdin=stdin, env=env).stdout.decode().strip()

    # -- objects --------------------------------------------------------------------------

    def write_blob(self, content: bytes) -> str:
        return self._out("hash-object", "-w", "--stdin", stdin=content)

    def object_type(self, sha: str) -> str | None:
        result = self._git("cat-file", "-t", sha, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def blob_size(self, sha: str) -> int:
        return int(self._out("cat-file", "-s", sha))

    def tree_items(self, tree: str) -> list[TreeItem]:
        """The entries of one tree (not recursive), as ``GET /git/trees`` lists them."""
        items = []
        for line in self._out("ls-tree", "-l", tree).splitlines():
            meta, path = line.split("\t", 1)
            mode, kind, sha, size = meta.split()
            items.append(TreeItem(mode, kind, sha, path, None if size == "-" else int(size)))
        return items

    def write_tree(
        self, base_tree: str | None, entries: Iterable[tuple[str, str, str | None]]
    ) -> str:
        """``base_tree`` with each ``(path, mode, sha)`` set, or removed when sha is None,
        through a temporary index (GitHub's create-tree semantics)."""
        with tempfile.TemporaryDirectory(dir=self.path) as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": scratch}
            if base_tree:
                self._git("read-tree", base_tree, env=env)
            else:
                self._git("read-tree", "--empty", env=env)
            for path, mode, sha in entries:
                if sha is None:
                    self._git("update-index", "--force-remove", "--", path, env=env)
                else:
                    self._git(
                        "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env
                    )
            return self._out("write-tree", env=env)

    def write_commit(
        self, tree: str, parents: Iterable[str], message: str, author: Person, committer: Person
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": author.date,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.date,
        }
        return self._out(*args, stdin=message.encode(), env=env)

    def commit(self, sha: str) -> CommitInfo:
        fmt = "%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        fields = self._out("show", "-s", f"--format={fmt}", sha, "--").split("\x00", 8)
        tree, parents, an, ae, ad, cn, ce, cd, message = fields
        return CommitInfo(
            sha=self._out("rev-parse", f"{sha}^{{commit}}"),
            tree=tree,
            parents=tuple(parents.split()),
            author=Person(an, ae, _utc(ad)),
            committer=Person(cn, ce, _utc(cd)),
            message=message,
        )

    def merge_tree(self, ours: str, theirs: str) -> str | None:
        """The merged tree, or None on a conflict (``git merge-tree --write-tree``)."""
        result = self._git("merge-tree", "--write-tree", ours, theirs, check=False)
        if result.returncode != 0:
            return None
        return result.stdout.decode().split("\n", 1)[0].strip()

    def seed(self, directory: Path, branch: str, message: str, person: Person) -> str:
        """A first commit of ``directory``'s files on ``branch``."""
        with tempfile.TemporaryDirectory(dir=self.path) as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": str(directory)}
            self._git("add", "--all", "--force", ".", env=env)
            tree = self._out("write-tree", env=env)
        sha = self.write_commit(tree, (), message, person, person)
        self.set_ref(f"refs/heads/{branch}", sha)
        return sha

    # -- refs and history -----------------------------------------------------------------

    def ref(self, name: str) -> str | None:
        result = self._git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def set_ref(self, name: str, sha: str) -> None:
        self._git("update-ref", name, sha)

    def delete_ref(self, name: str) -> None:
        self._git("update-ref", "-d", name)

    def refs(self, prefix: str = "refs/heads/") -> dict[str, str]:
        out = self._out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def is_ancestor(self, old: str, new: str) -> bool:
        return self._git("merge-base", "--is-ancestor", old, new, check=False).returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        result = self._git("merge-base", a, b, check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def commits_between(self, base: str, head: str) -> list[str]:
        """``base..head``, oldest first (as GitHub's compare lists them)."""
        out = self._out("rev-list", "--reverse", "--topo-order", f"{base}..{head}")
        return out.split()


def _utc(iso: str) -> str:
    """git's ``%aI`` (``2024-05-01T12:00:00+00:00``) as GitHub writes dates."""
    return iso.replace("+00:00", "Z")

"""The branch made with git: a commit built beside the runner's checkout, pushed with a token.

The commit is made without touching what the checkout shows (working tree, HEAD, the real
index, any ref): a temporary index read from the base, the patch applied to it with
``git apply --cached``, ``git write-tree`` and ``git commit-tree``. A maintainer's checkout
or a CI workspace is left exactly as it was, whatever branch it is on.

The token reaches git only through the environment (``GIT_CONFIG_COUNT``/``KEY``/``VALUE``
as an ``http.<url>.extraHeader``): never argv (world-readable in ``/proc``), never a URL,
never ``.git/config``; no credential helper may store or supply anything, no prompt may
wait for a human. Every error text is redacted of the token in each form git could echo.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from micro_gastown.errors import ConfigError, GitError, GitHubConflictError
from micro_gastown.github.boundary import is_loopback
from micro_gastown.github.gitpatch import patch_files, reject_unsafe_path
from micro_gastown.github.gitrun import remote_error, run_git, run_git_bytes
from micro_gastown.github.model import CommitIdentity

__all__ = [
    "BASE_REF",
    "ChangedFile",
    "LocalCommit",
    "RemoteAuth",
    "changed_files",
    "fetch",
    "has_commit",
    "identity_env",
    "make_commit",
    "push",
    "read_blob",
    "remote_sha",
]

BASE_REF: Final = "refs/micro-gastown/base"
"""The one ref of the checkout we write: the fetched base, kept reachable until used."""

_DELETED_BLOB: Final = "0" * 40
_SHA = re.compile(r"^[0-9a-f]{40}$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]+(?<![./])$")


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One path the commit changes, as ``git diff-tree`` reports it: its mode (the old one
    when deleted) and its new blob, None when the file is deleted."""

    path: str
    mode: str
    blob: str | None

    @property
    def deleted(self) -> bool:
        return self.blob is None


@dataclass(frozen=True, slots=True)
class LocalCommit:
    """A commit made in the checkout's object store, reachable from no ref (yet)."""

    sha: str
    tree: str
    parent: str
    files: tuple[ChangedFile, ...]
    repo_dir: Path
    """The repository top holding the commit's objects (the Git Database way reads the
    blobs from it)."""


@dataclass(frozen=True, slots=True)
class RemoteAuth:
    """Where to push and the token to push with; ``repr`` never shows the token."""

    url: str
    token: str = field(repr=False)

    def __post_init__(self) -> None:
        check_remote_url(self.url)
        if not self.token or any(ch in self.token for ch in "\r\n\0"):
            raise ConfigError("the token is empty or holds a line break")

    @classmethod
    def from_checkout(cls, repo_dir: Path, token: str) -> RemoteAuth:
        """The checkout's ``origin`` URL with ``token``."""
        url = run_git(["remote", "get-url", "origin"], cwd=repo_dir).strip()
        return cls(url, token)

    @property
    def header(self) -> str:
        """The HTTP header git sends: GitHub takes any user name with the token as password."""
        return f"Authorization: Basic {self.encoded}"

    @property
    def encoded(self) -> str:
        return base64.b64encode(f"x-access-token:{self.token}".encode()).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Every form of the token an error text could hold, longest first."""
        return (self.header, self.encoded, self.token)

    def environment(self) -> dict[str, str]:
        """The git configuration the token travels in, and nothing a helper could keep.

        An empty ``extraHeader`` first clears headers set in the checkout's config (e.g.
        the one ``actions/checkout`` persists), so exactly one Authorization header goes."""
        settings = [
            (f"http.{self.url}.extraHeader", ""),
            (f"http.{self.url}.extraHeader", self.header),
            ("credential.helper", ""),
            ("core.askPass", ""),
        ]
        env = {"GIT_CONFIG_COUNT": str(len(settings))}
        for index, (key, value) in enumerate(settings):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env


def check_remote_url(url: str) -> None:
    """https anywhere, http only to this machine; never credentials in the URL."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigError(
            "the remote URL holds credentials; give a plain https URL and the token apart",
            setting="remote url",
        )
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and is_loopback(host):
        return
    raise ConfigError(
        "the remote must be an https URL (http only to 127.0.0.1, ::1 or localhost)",
        setting="remote url",
        value=url,
    )


def make_commit(
    repo_dir: Path,
    *,
    base_commit: str,
    patch: str,
    directory: str | None,
    message: str,
    identity: CommitIdentity,
    when: datetime | None = None,
) -> LocalCommit:
    """Commit ``patch`` on top of ``base_commit`` without touching the checkout.

    ``directory`` is where the DSL checkout sits below the repository top (the patch's
    paths are relative to the DSL checkout). Raises GitError when the patch is not one
    git reads as ``patch_files`` does, a path is unsafe, the base is not in the checkout
    (fetch it first) or the patch does not apply.
    """
    if directory is not None:
        directory = directory.strip("/") or None
        if directory is not None:
            reject_unsafe_path(directory)
    try:
        paths = patch_files(patch)
    except ValueError as exc:
        raise GitError(f"the patch may not be applied: {exc}") from None
    if not paths:
        raise GitError("the patch names no file: not a unified diff")
    for path in paths:
        reject_unsafe_path(path)
    top = Path(run_git(["rev-parse", "--show-toplevel"], cwd=repo_dir).strip())
    if not has_commit(top, base_commit):
        raise GitError(
            f"base commit {base_commit[:40]} is not in the checkout: fetch it first",
            setting="base commit",
        )
    with tempfile.TemporaryDirectory(prefix="micro-gastown-index-") as scratch:
        index_env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        run_git(["read-tree", base_commit], cwd=top, env=index_env)
        apply = ["apply", "--cached", "--whitespace=nowarn"]
        if directory is not None:
            apply.append(f"--directory={directory}")
        try:
            run_git([*apply, "-"], cwd=top, env=index_env, stdin=patch.encode())
        except GitError as exc:
            raise GitError(
                f"the patch does not apply to {base_commit[:12]}: {_failing_file(exc)}",
                api_message=exc.api_message,
            ) from None
        tree = run_git(["write-tree"], cwd=top, env=index_env).strip()
    if tree == run_git(["rev-parse", f"{base_commit}^{{tree}}"], cwd=top).strip():
        raise GitError("the patch changes nothing in the base commit")
    sha = run_git(
        ["commit-tree", "--no-gpg-sign", tree, "-p", base_commit, "-F", "-"],
        cwd=top,
        env=identity_env(identity, when or datetime.now(UTC)),
        stdin=message.encode(),
    ).strip()
    return LocalCommit(sha, tree, base_commit, changed_files(top, base_commit, sha), top)


def has_commit(repo_dir: Path, sha: str) -> bool:
    """Whether the checkout holds commit ``sha`` (a base must be fetched before use)."""
    if not _SHA.match(sha):
        return False
    try:
        run_git(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo_dir)
    except GitError:
        return False
    return True


def read_blob(repo_dir: Path, blob: str) -> bytes:
    """A blob's bytes as stored (no filters, no line-ending conversion)."""
    if not _SHA.match(blob):
        raise GitError(f"not a blob id: {blob!r}")
    return run_git_bytes(["cat-file", "blob", blob], cwd=repo_dir)


def fetch(
    repo_dir: Path,
    auth: RemoteAuth,
    ref: str,
    *,
    depth: int | None = None,
    into: str = BASE_REF,
) -> str:
    """Fetch ``ref`` (a branch, ``refs/...`` or a commit id) into the ref ``into`` only,
    and return its commit id. No other ref of the checkout, nor FETCH_HEAD, changes.

    ``depth`` makes the fetch shallow (that many commits from ``ref``): a scratch
    repository that needs only a few trees (:mod:`.gitrevert`) skips the history. A
    commit id is fetched only from a server that allows it (GitHub does, for a commit
    reachable from one of its refs)."""
    source = ref if ref.startswith("refs/") or _SHA.match(ref) else f"refs/heads/{ref}"
    _check_ref(source)
    _check_ref(into)
    options = ["fetch", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--quiet"]
    if depth is not None:
        if depth < 1:
            raise GitError(f"fetch: depth must be at least 1, not {depth}")
        options.append(f"--depth={depth}")
    _remote(
        options,
        [auth.url, f"+{source}:{into}"],
        repo_dir=repo_dir,
        auth=auth,
        action="read the repository",
        needs="contents: read",
    )
    return run_git(["rev-parse", "--verify", f"{into}^{{commit}}"], cwd=repo_dir).strip()


def remote_sha(repo_dir: Path, auth: RemoteAuth, branch: str) -> str | None:
    """The commit ``branch`` points at on the remote, None when there is no such branch."""
    ref = f"refs/heads/{branch}"
    _check_ref(ref)
    out = _remote(
        ["ls-remote", "--refs"],
        [auth.url, ref],
        repo_dir=repo_dir,
        auth=auth,
        action="read the repository",
        needs="contents: read",
    )
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def push(repo_dir: Path, auth: RemoteAuth, sha: str, branch: str, *, expected: str | None) -> None:
    """Point the remote's ``branch`` at ``sha``, only if it still is at ``expected``.

    ``expected`` None: the branch must not exist yet. Anything else there means someone
    else pushed in between: GitHubConflictError, and nothing is overwritten.
    """
    ref = f"refs/heads/{branch}"
    _check_ref(ref)
    if not _SHA.match(sha) or (expected is not None and not _SHA.match(expected)):
        raise GitError("push: commit ids must be 40 hex digits")
    lease = f"--force-with-lease={ref}:{expected or ''}"
    try:
        _remote(
            ["push", "--porcelain", "--no-verify", lease],
            [auth.url, f"{sha}:{ref}"],
            repo_dir=repo_dir,
            auth=auth,
            action="push",
            needs="contents: write",
        )
    except GitError as exc:
        text = exc.api_message or ""
        if "stale info" in text or "fetch first" in text or "non-fast-forward" in text:
            raise GitHubConflictError(
                f"someone else pushed to {branch}: the push was refused",
                api_message=text,
            ) from None
        if "[remote rejected]" in text or "[rejected]" in text:
            raise GitHubConflictError(
                f"the remote refused the push to {branch}", api_message=text
            ) from None
        raise


def _check_ref(ref: str) -> None:
    name = ref.removeprefix("refs/")
    if not (_SHA.match(ref) or (ref.startswith("refs/") and _BRANCH.match(name))):
        raise GitError(f"not a usable ref name: {ref!r}")


def identity_env(identity: CommitIdentity, when: datetime) -> dict[str, str]:
    """The environment that makes ``identity`` the author and committer at ``when`` (naive
    means UTC): with it, the same tree, parent and message always give the same commit."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    stamp = f"{int(when.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return {
        "GIT_AUTHOR_NAME": identity.name,
        "GIT_AUTHOR_EMAIL": identity.email,
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": identity.name,
        "GIT_COMMITTER_EMAIL": identity.email,
        "GIT_COMMITTER_DATE": stamp,
    }


def changed_files(top: Path, parent: str, sha: str) -> tuple[ChangedFile, ...]:
    """What commit ``sha`` changes against ``parent``, file by file (no rename detection)."""
    raw = run_git_bytes(
        ["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, sha], top
    )
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    files: list[ChangedFile] = []
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if not status.startswith(":"):
            continue
        old_mode, new_mode, _old, new_blob, _letter = status[1:].split(" ")
        if new_blob == _DELETED_BLOB:
            files.append(ChangedFile(path, old_mode, None))
        else:
            files.append(ChangedFile(path, new_mode, new_blob))
    return tuple(files)


_APPLY_FAILURE = (
    re.compile(r"^error: patch failed: (.+):\d+$", re.MULTILINE),
    re.compile(
        r"^error: (.+): (?:patch does not apply|does not exist in index"
        r"|already exists in index|does not match index)$",
        re.MULTILINE,
    ),
)


def _failing_file(exc: GitError) -> str:
    text = exc.api_message or ""
    for pattern in _APPLY_FAILURE:
        if found := pattern.search(text):
            return found.group(1)
    return text.strip().splitlines()[-1] if text.strip() else "git apply failed"


def _remote(
    options: Sequence[str],
    operands: Sequence[str],
    *,
    repo_dir: Path,
    auth: RemoteAuth,
    action: str,
    needs: str,
) -> str:
    """A git command that talks to the remote, its failures translated to GitHub's errors."""
    verb = options[0]
    try:
        return run_git(
            [*options, "--", *operands],
            cwd=repo_dir,
            env=auth.environment(),
            secrets=auth.secrets(),
        )
    except GitError as exc:
        raise remote_error(verb, exc, action=action, needs=needs) from None

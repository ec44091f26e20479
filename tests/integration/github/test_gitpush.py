"""The git way of making the branch, against real repositories and a real smart-HTTP remote.

A bare repository is served by ``git http-backend`` (tests/githubsim/githttp.py) behind a
small server that demands the token as Basic auth, as GitHub does; the runner's checkout
is a real clone of it. Nothing here leaves tmp_path or 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from githubsim.githttp import serve_git
from micro_gastown.errors import (
    ConfigError,
    GitError,
    GitHubAuthError,
    GitHubConflictError,
    GitHubUnavailableError,
)
from micro_gastown.github import gitrun
from micro_gastown.github.gitpush import (
    BASE_REF,
    ChangedFile,
    RemoteAuth,
    fetch,
    make_commit,
    push,
    read_blob,
    remote_sha,
)
from micro_gastown.github.model import CommitIdentity

TOKEN = "ghs_TestTokenAbcdefghijklmnopqrstuvwxyz0123"
IDENTITY = CommitIdentity(login="sleeptime[bot]", name="Sleeptime Bot", email="bot@example.test")
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
BRANCH = "sleeptime/2025-03-04-template-abc123"

GRAPH = 'module Graph where\nnodes :: [String]\nnodes = ["a", "b"]\n'
PATCH_TOP = """\
diff --git a/dsl/Graph.hs b/dsl/Graph.hs
--- a/dsl/Graph.hs
+++ b/dsl/Graph.hs
@@ -1,3 +1,3 @@
 module Graph where
 nodes :: [String]
-nodes = ["a", "b"]
+nodes = ["a", "b", "c"]
diff --git a/dsl/templates/new.txt b/dsl/templates/new.txt
new file mode 100644
--- /dev/null
+++ b/dsl/templates/new.txt
@@ -0,0 +1 @@
+hello {{name}}
diff --git a/dsl/templates/old.txt b/dsl/templates/old.txt
deleted file mode 100644
--- a/dsl/templates/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
"""
# The same change, its paths relative to the DSL checkout (dsl/) instead of the top.
PATCH_IN_DSL = PATCH_TOP.replace("a/dsl/", "a/").replace("b/dsl/", "b/")


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    """A test's own git command (setup and inspection), with a fixed identity."""
    completed = subprocess.run(
        ["git", "-c", "user.name=Human", "-c", "user.email=human@example.test", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=True,
    )
    return completed.stdout.decode()


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@dataclass
class Remote:
    """A bare repository served over smart HTTP, with what its server saw."""

    bare: Path
    url: str
    token: str
    authorizations: list[list[str]] = field(default_factory=list)
    token_in_cmdlines: list[str] = field(default_factory=list)
    cmdlines_seen: list[str] = field(default_factory=list)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = bytearray()
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            body += handler.rfile.read(size)
            handler.rfile.readline()
        handler.rfile.readline()
        return bytes(body)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _scan_cmdlines(remote: Remote) -> None:
    """Every process's argv, read while git is mid-push: the token must be in none."""
    needles = (TOKEN.encode(), base64.b64encode(f"x-access-token:{TOKEN}".encode()))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        remote.cmdlines_seen.append(cmdline.replace(b"\0", b" ").decode("utf-8", "replace"))
        if any(needle in cmdline for needle in needles):
            remote.token_in_cmdlines.append(entry.name)


@contextlib.contextmanager
def serve(root: Path, bare: Path, token: str) -> Iterator[Remote]:
    expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    remote: Remote

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            path, _, query = self.path.partition("?")
            body = _read_body(self)
            given = self.headers.get_all("Authorization") or []
            remote.authorizations.append(list(given))
            if given != [expected]:
                self._send(401, [("WWW-Authenticate", 'Basic realm="GitHub"')], b"denied\n")
                return
            if self.command == "POST" and path.endswith("/git-receive-pack"):
                _scan_cmdlines(remote)
            status, headers, payload = serve_git(
                self.command,
                path,
                query,
                dict(self.headers.items()),
                body,
                project_root=root,
                remote_user="x-access-token",
            )
            self._send(status, headers, payload)

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    remote = Remote(bare, f"http://127.0.0.1:{port}/acme/agents.git", token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """The remote: ``main`` holding a DSL checkout under dsl/."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "dsl" / "templates").mkdir(parents=True)
    (seed / "dsl" / "Graph.hs").write_text(GRAPH)
    (seed / "dsl" / "templates" / "old.txt").write_text("bye\n")
    (seed / "README.md").write_text("# agents\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    bare = tmp_path / "root" / "acme" / "agents.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


@pytest.fixture
def remote(tmp_path: Path, bare: Path) -> Iterator[Remote]:
    with serve(tmp_path / "root", bare, TOKEN) as served:
        yield served


@pytest.fixture
def checkout(tmp_path: Path, bare: Path, remote: Remote) -> Path:
    """The runner's checkout: a clone whose origin is the HTTP remote, a bit dirty."""
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "remote", "set-url", "origin", remote.url)
    (work / "README.md").write_text("# agents, edited by a human\n")
    (work / "scratch.txt").write_text("untracked\n")
    return work


def head_of(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def snapshot(repo: Path) -> tuple[str, str, bytes, str]:
    return (
        git(repo, "status", "--porcelain"),
        head_of(repo),
        (repo / ".git" / "index").read_bytes(),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
    )


def commit_on_main(checkout: Path, patch: str = PATCH_TOP, directory: str | None = None) -> str:
    return make_commit(
        checkout,
        base_commit=head_of(checkout, "origin/main"),
        patch=patch,
        directory=directory,
        message="sleeptime: add node c",
        identity=IDENTITY,
        when=WHEN,
    ).sha


# --- make_commit -----------------------------------------------------------------------


def test_make_commit_leaves_working_tree_head_index_and_refs_alone(checkout: Path) -> None:
    before = snapshot(checkout)
    commit_on_main(checkout)
    assert snapshot(checkout) == before
    assert " M README.md" in before[0]


def test_commit_holds_the_patch_applied_by_our_identity(checkout: Path) -> None:
    base = head_of(checkout, "origin/main")
    local = make_commit(
        checkout,
        base_commit=base,
        patch=PATCH_TOP,
        directory=None,
        message="sleeptime: add node c\n\nPatterns: abc123\n",
        identity=IDENTITY,
        when=WHEN,
    )
    assert local.parent == base
    assert git(checkout, "rev-parse", f"{local.sha}^").strip() == base
    assert git(checkout, "rev-parse", f"{local.sha}^{{tree}}").strip() == local.tree
    assert git(checkout, "show", f"{local.sha}:dsl/Graph.hs") == GRAPH.replace('"b"]', '"b", "c"]')
    assert git(checkout, "show", f"{local.sha}:dsl/templates/new.txt") == "hello {{name}}\n"
    assert git(checkout, "show", f"{local.sha}:README.md") == "# agents\n"
    assert "dsl/templates/old.txt" not in git(checkout, "ls-tree", "-r", "--name-only", local.sha)
    meta = git(checkout, "log", "-1", "--format=%an|%ae|%cn|%ce|%at|%B", local.sha)
    assert meta.startswith(
        f"Sleeptime Bot|bot@example.test|Sleeptime Bot|bot@example.test|{int(WHEN.timestamp())}|"
        "sleeptime: add node c\n\nPatterns: abc123"
    )
    new_blob = git(checkout, "rev-parse", f"{local.sha}:dsl/templates/new.txt").strip()
    assert sorted(local.files, key=lambda f: f.path) == [
        ChangedFile(
            "dsl/Graph.hs",
            "100644",
            git(checkout, "rev-parse", f"{local.sha}:dsl/Graph.hs").strip(),
        ),
        ChangedFile("dsl/templates/new.txt", "100644", new_blob),
        ChangedFile("dsl/templates/old.txt", "100644", None),
    ]
    assert read_blob(local.repo_dir, new_blob) == b"hello {{name}}\n"


def test_directory_puts_a_dsl_relative_patch_below_the_top(checkout: Path) -> None:
    from_top = commit_on_main(checkout)
    from_dsl = commit_on_main(checkout, PATCH_IN_DSL, directory="dsl")
    assert head_of(checkout, f"{from_dsl}^{{tree}}") == head_of(checkout, f"{from_top}^{{tree}}")


def test_a_patch_that_does_not_apply_names_the_file(checkout: Path) -> None:
    stale = PATCH_TOP.replace('-nodes = ["a", "b"]', '-nodes = ["x", "y"]')
    before = snapshot(checkout)
    with pytest.raises(GitError, match=r"does not apply .*: dsl/Graph\.hs$"):
        commit_on_main(checkout, stale)
    assert snapshot(checkout) == before


@pytest.mark.parametrize(
    "path", ["../outside.txt", "/etc/passwd", ".git/hooks/pre-commit", "dsl/.GIT/config"]
)
def test_unsafe_paths_are_refused_before_git_sees_them(checkout: Path, path: str) -> None:
    hostile = f"--- a/{path}\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n".replace("a//", "/").replace(
        "b//", "/"
    )
    with pytest.raises(GitError, match="may not"):
        commit_on_main(checkout, hostile)


def test_a_quoted_path_is_read_as_git_reads_it(checkout: Path) -> None:
    """``\\056`` is ".": git unquotes "b/\\056git/config" to .git/config, and so do we."""
    hostile = 'diff --git "a/\\056git/config" "b/\\056git/config"\n' + PATCH_TOP.split("\n", 1)[1]
    with pytest.raises(GitError, match=r"may not: '\.git/config'"):
        commit_on_main(checkout, hostile)


def test_unsafe_directory_is_refused(checkout: Path) -> None:
    with pytest.raises(GitError, match="may not"):
        commit_on_main(checkout, PATCH_IN_DSL, directory="../elsewhere")


def test_a_base_the_checkout_lacks_says_to_fetch(checkout: Path) -> None:
    with pytest.raises(GitError, match="fetch it first"):
        make_commit(
            checkout,
            base_commit="1" * 40,
            patch=PATCH_TOP,
            directory=None,
            message="m",
            identity=IDENTITY,
        )


# --- fetch, ls-remote, push ------------------------------------------------------------


def test_fetch_writes_only_our_base_ref(checkout: Path, remote: Remote) -> None:
    refs_before = git(checkout, "for-each-ref", "--format=%(refname) %(objectname)")
    sha = fetch(checkout, RemoteAuth(remote.url, TOKEN), "main")
    assert sha == head_of(remote.bare, "main")
    refs_after = git(checkout, "for-each-ref", "--format=%(refname) %(objectname)")
    assert set(refs_after.splitlines()) == {*refs_before.splitlines(), f"{BASE_REF} {sha}"}
    assert not (checkout / ".git" / "FETCH_HEAD").exists()


def test_push_with_the_right_token_creates_the_branch(checkout: Path, remote: Remote) -> None:
    auth = RemoteAuth.from_checkout(checkout, TOKEN)
    base = fetch(checkout, auth, "main")
    assert remote_sha(checkout, auth, BRANCH) is None
    sha = commit_on_main(checkout)
    push(checkout, auth, sha, BRANCH, expected=None)
    assert head_of(remote.bare, BRANCH) == sha
    assert remote_sha(checkout, auth, BRANCH) == sha
    assert head_of(remote.bare, "main") == base
    # Every request carried exactly one Authorization header: ours.
    assert remote.authorizations
    assert all(len(given) == 1 for given in remote.authorizations)


def test_a_stale_header_in_the_checkout_config_is_replaced(checkout: Path, remote: Remote) -> None:
    """actions/checkout persists its own header in .git/config: ours must be the only one."""
    prefix = remote.url.rsplit("/acme/", 1)[0] + "/"
    git(checkout, "config", f"http.{prefix}.extraheader", "AUTHORIZATION: basic d3Jvbmc=")
    auth = RemoteAuth.from_checkout(checkout, TOKEN)
    push(checkout, auth, commit_on_main(checkout), BRANCH, expected=None)
    assert all(len(given) == 1 for given in remote.authorizations)


def test_a_wrong_token_is_an_auth_error(checkout: Path, remote: Remote) -> None:
    wrong = "ghs_WrongTokenZyxwvutsrqponmlkjihgfedcba9876"
    auth = RemoteAuth(remote.url, wrong)
    with pytest.raises(GitHubAuthError, match="cannot push: it needs contents: write") as caught:
        push(checkout, auth, commit_on_main(checkout), BRANCH, expected=None)
    for text in (str(caught.value), caught.value.api_message or ""):
        assert wrong not in text
        assert base64.b64encode(f"x-access-token:{wrong}".encode()).decode() not in text
    assert not git(remote.bare, "for-each-ref", f"refs/heads/{BRANCH}")


def test_the_lease_refuses_when_someone_else_pushed(checkout: Path, remote: Remote) -> None:
    auth = RemoteAuth(remote.url, TOKEN)
    ours = commit_on_main(checkout)
    push(checkout, auth, ours, BRANCH, expected=None)
    theirs = git(
        remote.bare, "commit-tree", "-p", ours, "-m", "a human's fix", f"{ours}^{{tree}}"
    ).strip()
    git(remote.bare, "update-ref", f"refs/heads/{BRANCH}", theirs)
    again = commit_on_main(checkout, PATCH_IN_DSL, directory="dsl")
    with pytest.raises(GitHubConflictError, match=f"someone else pushed to {BRANCH}"):
        push(checkout, auth, again, BRANCH, expected=ours)
    with pytest.raises(GitHubConflictError, match="someone else pushed"):
        push(checkout, auth, again, BRANCH, expected=None)
    assert head_of(remote.bare, BRANCH) == theirs
    push(checkout, auth, again, BRANCH, expected=theirs)
    assert head_of(remote.bare, BRANCH) == again


def test_the_token_is_in_no_argv_no_config_and_no_file(
    checkout: Path, remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        argvs.append(list(args))
        return real_popen(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(gitrun.subprocess, "Popen", recording_popen)
    auth = RemoteAuth.from_checkout(checkout, TOKEN)
    fetch(checkout, auth, "main")
    push(checkout, auth, commit_on_main(checkout), BRANCH, expected=None)
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert any("push" in argv for argv in argvs)
    assert not [argv for argv in argvs if any(TOKEN in a or encoded in a for a in argv)]
    # Read while git was mid-push: no process (git-remote-http, send-pack...) had it in argv.
    assert any("remote-http" in line for line in remote.cmdlines_seen)
    assert remote.token_in_cmdlines == []
    assert TOKEN not in (checkout / ".git" / "config").read_text()
    for path in (checkout / ".git").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data, path
            assert encoded.encode() not in data, path
    assert TOKEN not in repr(auth)


def test_a_failing_push_that_echoes_the_token_is_redacted(checkout: Path, remote: Remote) -> None:
    header = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        f"echo 'token {TOKEN}' >&2\n"
        f"echo 'Authorization: {header}' >&2\n"
        f"echo 'authorization: basic {header.split()[1]}' >&2\n"
        "exit 1\n"
    )
    hook.chmod(0o755)
    auth = RemoteAuth(remote.url, TOKEN)
    with pytest.raises(GitHubConflictError, match="refused the push") as caught:
        push(checkout, auth, commit_on_main(checkout), BRANCH, expected=None)
    texts = [str(caught.value), caught.value.api_message or "", repr(caught.value)]
    for text in texts:
        assert TOKEN not in text
        assert header.split()[1] not in text
    assert "token ***" in (caught.value.api_message or "")


def test_an_unreachable_remote_is_unavailable(checkout: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = RemoteAuth(f"http://127.0.0.1:{port}/acme/agents.git", TOKEN)
    with pytest.raises(GitHubUnavailableError, match="could not be reached"):
        remote_sha(checkout, auth, BRANCH)


def test_a_hung_remote_is_killed_at_the_timeout(
    tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    monkeypatch.setattr(gitrun, "GIT_TIMEOUT_S", 1.0)
    started: list[int] = []
    real_popen = subprocess.Popen

    def recording_popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process = real_popen(args, **kwargs)  # type: ignore[call-overload]
        started.append(process.pid)
        return process  # type: ignore[no-any-return]

    monkeypatch.setattr(gitrun.subprocess, "Popen", recording_popen)
    auth = RemoteAuth(f"http://127.0.0.1:{listener.getsockname()[1]}/a/b.git", TOKEN)
    try:
        with pytest.raises(GitHubUnavailableError, match="no answer within 1 s"):
            remote_sha(checkout, auth, BRANCH)
    finally:
        listener.close()
    # SIGKILL went to the whole group: each member dies (a child may still be between
    # closing its pipes and becoming a zombie, so give it a moment, not a timing assert).
    deadline = time.monotonic() + 30
    while live_members_of_group(started[-1]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members_of_group(started[-1]) == []


def live_members_of_group(group: int) -> list[int]:
    """Processes of a process group still running (a killed child may linger as a zombie
    until init reaps it: that one is dead)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


# --- the remote URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/acme/agents.git",
        "http://10.0.0.1/acme/agents.git",
        "https://user:pass@github.com/acme/agents.git",
        "https://x-access-token@github.com/acme/agents.git",
        "git@github.com:acme/agents.git",
        "file:///tmp/agents.git",
    ],
)
def test_remote_urls_we_refuse(url: str) -> None:
    with pytest.raises(ConfigError):
        RemoteAuth(url, TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/agents.git",
        "http://127.0.0.1:8080/acme/agents.git",
        "http://[::1]:8080/acme/agents.git",
        "http://localhost/acme/agents.git",
    ],
)
def test_remote_urls_we_accept(url: str) -> None:
    assert RemoteAuth(url, TOKEN).url == url

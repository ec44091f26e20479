"""A throw-away ``git worktree`` of the checkout's HEAD, where edits are applied and built.

The user's checkout is never written: edits go to a detached worktree in a temporary
directory, the diff is checked with ``git apply --check`` against the untouched checkout,
and the worktree is removed on the way out, also on an exception, Ctrl-C or SIGTERM
(:class:`~micro_gastown.termination.Terminated` unwinds through ``__exit__``).

Git runs without a shell, with hooks and the file-system monitor switched off (``-c
core.hooksPath=/dev/null -c core.fsmonitor=false``: ``worktree add`` would otherwise run
the repository's ``post-checkout`` hook), without a terminal prompt, and without the
environment variables that point git at another repository. The user's own git config
is kept.

The checkout may be a subdirectory of its repository (``prefix``); the worktree holds the
whole repository, and :attr:`Worktree.checkout_dir` is the same subdirectory in it.
Patch paths are relative to the checkout, so ``git apply`` runs at the repository's top
with ``--directory=<prefix>``: run inside a subdirectory, git apply silently skips every
path outside it, and would report success for a patch it never checked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

from micro_gastown.errors import DslError
from micro_gastown.evidence.sanitize import neutralize_line, neutralize_text
from micro_gastown.refine.model import CheckOutcome, CheckResult, Rejection
from micro_gastown.refine.paths import checkout_path, printable

__all__ = ["APPLY_CHECK", "Worktree", "open_worktree"]

APPLY_CHECK: Final = "git apply --check"
"""The name of the :class:`CheckResult` :meth:`Worktree.check_apply` returns."""

GIT_TIMEOUT_S: Final = 120.0
"""Any one git command but ``worktree add``; a git that hangs (a lock, a network
filesystem) becomes an error instead of a stuck run."""
CHECKOUT_TIMEOUT_S: Final = 600.0
"""``git worktree add`` writes the whole tree of HEAD."""

_PROTECTIONS: Final = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")

# Variables that make git use another repository, index or object store than the one
# its working directory is in (set, e.g., when micro-gastown runs from a git hook).
_REPOSITORY_VARIABLES: Final = frozenset(
    (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_QUARANTINE_PATH",
        "GIT_SHALLOW_FILE",
        "GIT_GRAFT_FILE",
    )
)

_OUTPUT_TAIL: Final = 4000


@dataclass
class Worktree:
    """A detached worktree of HEAD; use it as a context manager (:func:`open_worktree`).

    ``checkout`` is the user's checkout, ``toplevel`` its repository's top, ``prefix``
    the checkout's path inside the repository (``""`` or ``"sub/dir"``), ``root`` the
    worktree and ``checkout_dir`` the checkout inside it; ``base_commit`` the commit
    checked out (HEAD when it was opened: the commit a proposed change is based on).
    """

    checkout: Path
    toplevel: Path
    prefix: str
    root: Path
    base_commit: str
    _temporary: Path = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def checkout_dir(self) -> Path:
        return self.root / self.prefix if self.prefix else self.root

    def __enter__(self) -> Worktree:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the worktree and git's record of it; safe to call twice. Each step runs
        even if the one before fails or is interrupted."""
        if self._closed:
            return
        self._closed = True
        _remove_worktree(self.toplevel, self.root, self._temporary)

    def read_text(self, rel: str) -> str:
        """The text of ``rel`` (a checked, normalised checkout path) in the worktree,
        byte for byte (no newline translation). DslError if it is no longer a regular
        file there (HEAD differs from the checkout) or not UTF-8."""
        data = _read(self._file(rel), rel, self.checkout)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise DslError(
                f"{printable(rel)} in HEAD is not UTF-8 text", setting="repo", value=self.checkout
            ) from None

    def write_text(self, rel: str, text: str) -> None:
        """Replace the text of ``rel`` in the worktree (an existing regular file, checked
        again here, never followed through a symlink); its mode is kept."""
        path = self._file(rel)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise DslError(
                f"cannot write {printable(rel)} in the worktree ({exc.strerror})",
                setting="repo",
                value=self.checkout,
            ) from None
        with os.fdopen(fd, "wb") as stream:
            stream.write(text.encode("utf-8"))

    def check_apply(self, patch: str) -> CheckResult:
        """Whether ``patch`` (paths relative to the checkout) applies to the user's
        checkout as it is now, uncommitted changes included; nothing is written."""
        started = time.monotonic()
        if not patch.strip():
            return CheckResult(APPLY_CHECK, CheckOutcome.FAILED, reason="the patch is empty")
        args = ["apply", "--check", "--verbose", "--whitespace=nowarn"]
        if self.prefix:
            args.append(f"--directory={self.prefix}")
        args.append("-")
        try:
            done = _git(args, self.toplevel, stdin=patch.encode("utf-8"))
        except _GitNotRun as exc:
            return CheckResult(
                APPLY_CHECK,
                CheckOutcome.NOT_RUN,
                reason=str(exc),
                duration_s=time.monotonic() - started,
            )
        output = _tail(done.stdout + done.stderr)
        elapsed = time.monotonic() - started
        if done.returncode != 0:
            return CheckResult(
                APPLY_CHECK,
                CheckOutcome.FAILED,
                output=output,
                reason=_first_error(done.stderr, last=True) or "git apply refused the patch",
                duration_s=elapsed,
            )
        if b"Skipped patch" in done.stderr:
            return CheckResult(
                APPLY_CHECK,
                CheckOutcome.FAILED,
                output=output,
                reason="git apply skipped a path outside the checkout",
                duration_s=elapsed,
            )
        return CheckResult(APPLY_CHECK, CheckOutcome.PASSED, output=output, duration_s=elapsed)

    def dirty_paths(self) -> tuple[str, ...]:
        """Files of the checkout (relative to it) that differ from HEAD: modified, staged,
        deleted or untracked. The worktree does not see them, so the caller can warn."""
        done = _checked_git(
            [
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--",
                ".",
            ],
            self.checkout,
            self.checkout,
            "cannot list uncommitted changes",
        )
        paths: set[str] = set()
        entries = done.stdout.split(b"\0")
        index = 0
        while index < len(entries):
            entry = entries[index]
            index += 1
            if len(entry) < 4:
                continue
            if entry[:1] in (b"R", b"C"):
                index += 1  # the source of a rename or copy follows
            name = os.fsdecode(entry[3:])
            relative = _under_prefix(name, self.prefix)
            if relative is not None:
                paths.add(relative)
        return tuple(sorted(paths))

    def _file(self, rel: str) -> Path:
        checked = checkout_path(self.checkout_dir, rel)
        if isinstance(checked, Rejection) or checked != rel:
            why = checked.detail if isinstance(checked, Rejection) else "not a normalised path"
            raise DslError(
                f"{printable(rel)} cannot be used in the worktree of HEAD: {why}",
                setting="repo",
                value=self.checkout,
            )
        return self.checkout_dir / rel


def locate_checkout(checkout: Path) -> tuple[Path, str, str]:
    """``checkout``'s git top level, its directory below it (``""`` at the top) and HEAD's
    commit; DslError naming ``checkout`` when git is missing, it is not in a git work tree,
    or HEAD has no commit. Cheap: callers check a checkout before anything costly."""
    checkout = checkout.absolute()
    if not checkout.is_dir():
        raise DslError("no such directory", setting="repo", value=checkout)
    located = _checked_git(
        ["rev-parse", "--show-toplevel", "--show-prefix"],
        checkout,
        checkout,
        "not inside a git work tree",
    )
    lines = os.fsdecode(located.stdout).split("\n")
    toplevel, prefix = Path(lines[0]), lines[1].rstrip("/") if len(lines) > 1 else ""
    head = _checked_git(
        ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        checkout,
        checkout,
        "HEAD has no commit yet",
    )
    return toplevel, prefix, head.stdout.decode("ascii", "replace").strip()


def open_worktree(checkout: Path) -> Worktree:
    """A detached worktree of ``checkout``'s HEAD in a new temporary directory; use the
    result in a ``with`` block, which removes it. DslError naming ``checkout`` when git
    is missing, it is not in a git work tree, or HEAD has no commit."""
    checkout = checkout.absolute()
    toplevel, prefix, commit = locate_checkout(checkout)
    temporary = Path(tempfile.mkdtemp(prefix="micro-gastown-refine-"))
    root = temporary / "checkout"
    try:
        _checked_git(
            ["worktree", "add", "--detach", "--quiet", str(root), commit],
            toplevel,
            checkout,
            "cannot create a git worktree",
            timeout=CHECKOUT_TIMEOUT_S,
        )
        worktree = Worktree(checkout, toplevel, prefix, root, commit, temporary)
        if not worktree.checkout_dir.is_dir():
            raise DslError(
                f"{printable(prefix)} is not in the commit HEAD ({commit[:12]})",
                setting="repo",
                value=checkout,
            )
    except BaseException:
        _remove_worktree(toplevel, root, temporary)
        raise
    return worktree


class _GitNotRun(Exception):
    """git could not be started or did not finish in time."""


def _git(
    args: list[str], cwd: Path, *, stdin: bytes | None = None, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise _GitNotRun("git is not installed (not found on PATH)")
    environment = {
        name: value for name, value in os.environ.items() if name not in _REPOSITORY_VARIABLES
    }
    environment["GIT_TERMINAL_PROMPT"] = "0"
    try:
        return subprocess.run(
            [git, *_PROTECTIONS, *args],
            cwd=cwd,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            env=environment,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _GitNotRun(f"git {args[0]} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise _GitNotRun(f"git could not be started ({exc.strerror})") from None


def _checked_git(
    args: list[str], cwd: Path, checkout: Path, failure: str, *, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run git; DslError about ``checkout`` (``failure`` and git's own first error line)
    if it cannot run or fails."""
    try:
        done = _git(args, cwd, timeout=timeout)
    except _GitNotRun as exc:
        raise DslError(str(exc), setting="repo", value=checkout) from None
    if done.returncode != 0:
        said = _first_error(done.stderr)
        raise DslError(f"{failure} ({said})" if said else failure, setting="repo", value=checkout)
    return done


def _remove_worktree(toplevel: Path, root: Path, temporary: Path) -> None:
    try:
        if root.exists():
            with contextlib.suppress(_GitNotRun):
                _git(["worktree", "remove", "--force", str(root)], toplevel)
    finally:
        try:
            shutil.rmtree(temporary, ignore_errors=True)
        finally:
            with contextlib.suppress(_GitNotRun):
                _git(["worktree", "prune"], toplevel)


def _read(path: Path, rel: str, checkout: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise DslError(
            f"cannot read {printable(rel)} in the worktree ({exc.strerror})",
            setting="repo",
            value=checkout,
        ) from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise DslError(
                f"{printable(rel)} in the worktree is not a regular file",
                setting="repo",
                value=checkout,
            )
        return stream.read()


def _under_prefix(name: str, prefix: str) -> str | None:
    """A repository-relative path as a checkout-relative one (None: outside it)."""
    if not prefix:
        return name
    if name.startswith(prefix + "/"):
        return name[len(prefix) + 1 :]
    return None


def _first_error(stderr: bytes, *, last: bool = False) -> str:
    """git's first (or last) ``error:``/``fatal:`` line, else its first line, safe for one
    line. ``git apply`` ends with its summary ("<path>: patch does not apply") after
    lines that quote the patch, so its reason is the last one."""
    lines = [line.strip() for line in os.fsdecode(stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "fatal:"))]
    chosen = (errors[-1] if last else errors[0]) if errors else None
    if chosen is None and lines:
        chosen = lines[0]
    return neutralize_line(chosen)[:300] if chosen else ""


def _tail(output: bytes) -> str:
    """The end of what git printed, without control or invisible characters."""
    return neutralize_text(os.fsdecode(output))[-_OUTPUT_TAIL:]

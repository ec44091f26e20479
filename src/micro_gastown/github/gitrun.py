"""Running git for the PR filer: no shell, no inherited git settings, a timeout, no secrets.

Every git command of :mod:`.gitpush` goes through :func:`run_git`: the inherited
environment loses git's own variables (``GIT_DIR``, ``GIT_INDEX_FILE``, ``GIT_TRACE_CURL``,
...), the system and user configuration are ignored (the checkout's own is still read), no
prompt or askpass can wait for a human, and a command still running at the timeout is
killed with its whole process group (``git-remote-https`` included). Failures keep git's
text with every secret removed, and remote failures become GitHub's errors here, once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from micro_gastown.errors import (
    GitError,
    GitHubAuthError,
    GitHubError,
    GitHubNotFoundError,
    GitHubUnavailableError,
)
from micro_gastown.parent_death import die_with_parent

__all__ = ["GIT_TIMEOUT_S", "redact", "remote_error", "run_git", "run_git_bytes"]

GIT_TIMEOUT_S: Final = 120.0
"""One git command, network included; a push of one small commit never needs longer."""

# Git's own variables that could point it at another repository, index, config or
# identity, or make it print traffic (GIT_TRACE_CURL): none is inherited but these.
_KEPT_GIT_VARIABLES: Final = frozenset(
    {"GIT_CEILING_DIRECTORIES", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_EXEC_PATH"}
)


_AUTH_SIGNS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "returned error: 401",
    "returned error: 403",
    "permission to",
    "write access to repository not granted",
    "http 401",
    "http 403",
)
_NOT_FOUND_SIGNS = ("repository not found", "returned error: 404", "http 404", "not found")
_NETWORK_SIGNS = (
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection reset",
    "timed out",
    "timeout",
    "rpc failed",
    "returned error: 5",
    "http 5",
    "unable to access",
    "the remote end hung up",
    "ssl",
)


def remote_error(verb: str, exc: GitError, *, action: str, needs: str) -> GitHubError:
    """What a failed ``git <verb>`` against the remote means, read from git's own words:
    the token refused, no such repository or ref, the network; anything else (a refused
    push among them) stays the GitError it was, for the caller to read."""
    text = (exc.api_message or "").lower()
    if any(sign in text for sign in _AUTH_SIGNS):
        return GitHubAuthError(
            f"git {verb}: the token cannot {action}: it needs {needs}",
            status=403 if "403" in text else 401,
            api_message=exc.api_message,
        )
    if "[rejected]" in text or "[remote rejected]" in text:
        return exc
    if any(sign in text for sign in _NOT_FOUND_SIGNS):
        return GitHubNotFoundError(
            f"git {verb}: no such repository or ref, or the token cannot see it",
            status=404,
            api_message=exc.api_message,
        )
    if any(sign in text for sign in _NETWORK_SIGNS):
        return GitHubUnavailableError(
            f"git {verb}: the remote could not be reached", api_message=exc.api_message
        )
    return exc


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The inherited environment without git's own variables, plus ours: no system or user
    config (the checkout's own is still read), no prompt, no askpass, English messages."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_") or name in _KEPT_GIT_VARIABLES
    }
    env.pop("SSH_ASKPASS", None)
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": shutil.which("false") or "/bin/false",
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
            "LANGUAGE": "C",
        }
    )
    env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    secrets: Sequence[str] = (),
) -> str:
    return run_git_bytes(args, cwd, env=env, stdin=stdin, secrets=secrets).decode(
        "utf-8", "replace"
    )


def run_git_bytes(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    secrets: Sequence[str] = (),
) -> bytes:
    """Run ``git <args>`` without a shell; kill its whole process group on timeout.

    Returns stdout; on failure raises GitError holding stdout and stderr with every
    secret removed (a push's porcelain verdict is on stdout)."""
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed")
    command = [git, *args]
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=_environment(env or {}),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=functools.partial(die_with_parent, os.getpid(), signal.SIGKILL),
        )
    except OSError as exc:
        raise GitError(f"git {args[0]}: cannot run git in {cwd}: {exc.strerror}") from None
    try:
        out, err = process.communicate(stdin, timeout=GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise GitHubUnavailableError(
            f"git {args[0]}: no answer within {GIT_TIMEOUT_S:.0f} s; stopped"
        ) from None
    except BaseException:  # Ctrl-C or SIGTERM unwinding: git (its own session) stops too
        _kill_group(process)
        raise
    if process.returncode != 0:
        detail = redact(
            "\n".join(
                part
                for part in (err.decode("utf-8", "replace"), out.decode("utf-8", "replace"))
                if part.strip()
            ),
            secrets,
        ).strip()
        first = detail.splitlines()[0] if detail else f"exit status {process.returncode}"
        raise GitError(f"git {args[0]} failed: {first}", api_message=detail)
    return out


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret (and the Authorization header, whatever its case)
    replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(?i)(authorization:\s*(?:basic|bearer|token)\s+)\S+", r"\1***", text)

"""Git's smart HTTP protocol for the GitHub-compatible test server: ``git http-backend`` as CGI.

The simulated GitHub must be a real push remote (issue 12: "a real bare git repository as
the push remote"), so it hands every ``/<owner>/<name>.git/...`` request to git's own CGI
program after its own auth check, exactly as a web server would: no git wire protocol is
reimplemented here, so what passes against it passes against any smart-HTTP host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["GIT_HTTP_TIMEOUT_S", "http_backend_command", "serve_git"]

GIT_HTTP_TIMEOUT_S: Final = 60.0
"""A test push or fetch is tiny; a backend still running after this is a hang, not work."""

_BACKEND: Final = Path("/usr/lib/git-core/git-http-backend")

# Request headers git's CGI reads from the environment (besides the body's type and length).
_PASSED_HEADERS: Final = {
    "content-encoding": "HTTP_CONTENT_ENCODING",  # gzip request bodies (large pushes)
    "git-protocol": "HTTP_GIT_PROTOCOL",  # protocol v2 negotiation
    "accept": "HTTP_ACCEPT",
    "user-agent": "HTTP_USER_AGENT",
}


def http_backend_command() -> list[str]:
    """The backend's own path when installed where Debian puts it, else ``git http-backend``."""
    if _BACKEND.is_file() and os.access(_BACKEND, os.X_OK):
        return [str(_BACKEND)]
    git = shutil.which("git")
    if git is None:
        raise RuntimeError("git is not installed")
    return [git, "http-backend"]


def serve_git(
    method: str,
    path_info: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    project_root: Path,
    remote_user: str,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer one smart-HTTP request for a repository under ``project_root``.

    ``path_info`` is the path below the root (``/acme/agents.git/info/refs``), ``query``
    the raw query string (``service=git-receive-pack``), ``body`` the request body already
    de-chunked (a gzip body stays compressed: the backend inflates it, told by the
    Content-Encoding header). ``remote_user`` set means authenticated, which is what lets
    the backend accept ``git-receive-pack`` (pushes). Returns (status, headers, body) as
    the CGI's output says, for the caller to send unchanged.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": method.upper(),
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "GIT_PROJECT_ROOT": str(project_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REMOTE_USER": remote_user,
        "REMOTE_ADDR": "127.0.0.1",
        # The backend runs git: never with the machine's or the user's configuration.
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(project_root),
        "XDG_CONFIG_HOME": str(project_root),
    }
    if "content-type" in lowered:
        env["CONTENT_TYPE"] = lowered["content-type"]
    for header, variable in _PASSED_HEADERS.items():
        if header in lowered:
            env[variable] = lowered[header]
    completed = subprocess.run(
        http_backend_command(),
        input=body,
        env=env,
        capture_output=True,
        timeout=GIT_HTTP_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0 and not completed.stdout:
        message = completed.stderr.decode("utf-8", "replace") or "git http-backend failed"
        return 500, [("Content-Type", "text/plain")], message.encode()
    return parse_cgi_output(completed.stdout)


def parse_cgi_output(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split a CGI response into status, headers and body (RFC 3875 §6: a ``Status:``
    header carries the HTTP status; none means 200)."""
    head, body = _split_head(output)
    status = 200
    response_headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        if not line.strip():
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            response_headers.append((name, value))
    return status, response_headers, body


def _split_head(output: bytes) -> tuple[bytes, bytes]:
    """The header block ends at the first empty line, written ``\\r\\n\\r\\n`` or ``\\n\\n``."""
    candidates = [
        (index, len(separator))
        for separator in (b"\r\n\r\n", b"\n\n")
        if (index := output.find(separator)) != -1
    ]
    if not candidates:
        return output, b""
    index, length = min(candidates)
    return output[:index], output[index + length :]

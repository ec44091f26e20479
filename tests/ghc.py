"""Real GHC and cabal for the tests that prove a refined change builds and passes its tests.

Issue 11's acceptance is a real ``cabal build all`` and ``cabal test all`` of the bundled
sample checkout, with Debian's ``ghc`` and ``cabal-install``: a stand-in checker cannot
prove that a wrong ``Goto``, a missing type or a broken handler fails the compile. The
tools are not part of this repo; ``.ci/run`` installs them. Absent, the tests that need
them skip naming what is missing; with ``CI=true`` they fail instead, since CI always has
them (as ``realloki`` does for Loki).

Cabal must never reach the network or the user's ``~/.cabal``: :func:`cabal_env` gives it
a ``CABAL_DIR`` of its own whose ``config`` is empty (no package repository, so nothing to
download: the sample needs only GHC's boot packages), and ``HOME`` and ``TMPDIR`` in the
test's directory too. :func:`only_programs` makes a ``PATH`` that lacks cabal, for the
"not installed" outcome.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

TOOLS: Final = ("ghc", "cabal")


class GhcMissing(Exception):
    """A tool of the toolchain is not on PATH; says which."""


@dataclass(frozen=True)
class GhcToolchain:
    """Where ``ghc`` and ``cabal`` were found."""

    ghc: Path
    cabal: Path


def locate(environ: Mapping[str, str] | None = None) -> GhcToolchain:
    """``ghc`` and ``cabal`` on ``environ``'s PATH (the process's own by default)."""
    environ = os.environ if environ is None else environ
    search = environ.get("PATH", os.defpath)
    found = {tool: shutil.which(tool, path=search) for tool in TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        raise GhcMissing(f"{' and '.join(missing)} not on PATH ({search})")
    return GhcToolchain(ghc=Path(str(found["ghc"])), cabal=Path(str(found["cabal"])))


def cabal_env(tmp_path: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for ``cabal build``/``cabal test`` that reads and writes only under
    ``tmp_path``: ``CABAL_DIR`` with an empty ``config``, ``HOME``, ``TMPDIR``; ``PATH``
    from ``environ`` (the process's own by default), so the toolchain is found."""
    environ = os.environ if environ is None else environ
    cabal_dir = tmp_path / "cabal"
    cabal_dir.mkdir(parents=True, exist_ok=True)
    config = cabal_dir / "config"
    if not config.exists():
        config.write_text("")
    return {
        "PATH": environ.get("PATH", os.defpath),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "CABAL_DIR": str(cabal_dir),
        "LANG": "C.UTF-8",
    }


def only_programs(directory: Path, *programs: str) -> str:
    """A PATH of one directory holding links to just ``programs`` (found on the current
    PATH): git without cabal, say. The directory is created; it must be new."""
    directory.mkdir(parents=True)
    for program in programs:
        found = shutil.which(program)
        assert found is not None, f"{program} is needed by this test and is not on PATH"
        (directory / program).symlink_to(found)
    return str(directory)


@pytest.fixture(scope="session")
def ghc_toolchain() -> GhcToolchain:
    """The machine's GHC and cabal; skipped (failed under ``CI=true``) when absent."""
    try:
        return locate()
    except GhcMissing as missing:
        message = f"real GHC tests need ghc and cabal-install: {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI must provide them: .ci/run installs them)")
        pytest.skip(message)

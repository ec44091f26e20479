"""Installing the fake `claude` executable (``claude.py`` beside this file) for a test.

:func:`install_fake_claude` writes it as an executable named ``claude`` under ``folder``
and points its two environment variables at files there: the scenario it answers with,
and the log of what it was given. :func:`claude_result` builds the JSON a successful
``claude -p --output-format json`` prints.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FAKE_SOURCE = Path(__file__).resolve().parent / "claude.py"


@dataclass
class FakeClaude:
    """The fake executable and its two files: what to answer, and what it was given."""

    path: Path
    scenario: Path
    log: Path

    def answer(
        self,
        stdout: str | dict[str, Any] = "",
        *,
        stderr: str = "",
        exit: int = 0,
        sleep: float = 0.0,
        spawn_sleeper: bool = False,
    ) -> None:
        self.scenario.write_text(
            json.dumps(
                {
                    "stdout": stdout,
                    "stderr": stderr,
                    "exit": exit,
                    "sleep": sleep,
                    "spawn_sleeper": spawn_sleeper,
                }
            )
        )

    @property
    def ran(self) -> bool:
        return self.log.exists()

    def seen(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.log.read_text())
        return data


def claude_result(usage: dict[str, int], **fields: Any) -> dict[str, Any]:
    """A successful `claude -p --output-format json` result, with ``fields`` overriding."""
    base: dict[str, Any] = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "",
        "num_turns": 2,
        "session_id": "5b1c7d1e-0000-4000-8000-000000000000",
        "total_cost_usd": 0.0123,
        "usage": usage,
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def install_fake_claude(folder: Path, monkeypatch: pytest.MonkeyPatch) -> FakeClaude:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    executable = bin_dir / "claude"
    executable.write_text(f"#!{sys.executable}\n{FAKE_SOURCE.read_text()}")
    executable.chmod(0o755)
    fake = FakeClaude(executable, folder / "scenario.json", folder / "seen.json")
    monkeypatch.setenv("FAKE_CLAUDE_SCENARIO", str(fake.scenario))
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(fake.log))
    return fake

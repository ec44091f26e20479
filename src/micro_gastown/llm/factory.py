"""Which LLM backend a command asked for, and building it (importing only that one).

:class:`BackendChoice` is the one value object behind the model flags (``--backend``,
``--replay``, ``--record``, ``--allow-non-haiku``, ``--claude-path``): built from the flags,
checked before any log is read, stored in a run's settings and rebuilt from them on resume.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micro_gastown.errors import UsageError
from micro_gastown.llm.base import LlmBackend

BACKENDS = ("anthropic", "claude-code", "replay")


@dataclass(frozen=True, slots=True)
class BackendChoice:
    name: str = "anthropic"
    replay: Path | None = None
    """Recorded answers to play (``--backend replay``)."""
    record: Path | None = None
    """Write every live answer here, so later runs can replay them."""
    allow_non_haiku: bool = False
    claude_path: str = "claude"

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise UsageError(
                f"expected one of {', '.join(BACKENDS)}", setting="backend", value=self.name
            )
        if self.name == "replay" and self.replay is None:
            raise UsageError(
                "the replay backend needs a file of recorded answers", setting="replay"
            )
        if self.name != "replay" and self.replay is not None:
            raise UsageError(
                "recorded answers are played by the replay backend only", setting="replay"
            )
        if self.name == "replay" and self.record is not None:
            raise UsageError(
                "recording needs a live backend; the replay backend is not one", setting="record"
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BackendChoice:
        """From the flags :func:`micro_gastown.cli.analyze.add_llm_flags` declares; files
        made absolute so that a run resumed from another directory finds them."""
        return cls(
            name=args.backend,
            replay=args.replay.absolute() if args.replay is not None else None,
            record=args.record.absolute() if args.record is not None else None,
            allow_non_haiku=args.allow_non_haiku,
            claude_path=args.claude_path,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> BackendChoice:
        """From a run's recorded settings (:meth:`settings`)."""
        replay, record = settings.get("replay"), settings.get("record")
        return cls(
            name=str(settings.get("backend", "anthropic")),
            replay=Path(replay) if replay else None,
            record=Path(record) if record else None,
            allow_non_haiku=bool(settings.get("allow_non_haiku", False)),
            claude_path=str(settings.get("claude_path", "claude")),
        )

    def settings(self) -> dict[str, Any]:
        """The choice as flat JSON values for a run's settings."""
        values: dict[str, Any] = {
            "backend": self.name,
            "allow_non_haiku": self.allow_non_haiku,
            "claude_path": self.claude_path,
        }
        if self.replay is not None:
            values["replay"] = str(self.replay)
        if self.record is not None:
            values["record"] = str(self.record)
        return values

    def build(self, environ: Mapping[str, str]) -> LlmBackend:
        """``anthropic`` (ANTHROPIC_API_KEY), ``claude-code`` (your Claude Code login) or
        ``replay`` (no network, no key); wrapped in a recorder with ``record``."""
        backend: LlmBackend
        if self.name == "replay":
            from micro_gastown.llm.replay import ReplayBackend

            assert self.replay is not None  # checked in __post_init__
            return ReplayBackend(self.replay)
        if self.name == "claude-code":
            from micro_gastown.llm.claude_code import ClaudeCodeBackend

            backend = ClaudeCodeBackend(
                executable=self.claude_path, allow_non_haiku=self.allow_non_haiku
            )
        else:
            from micro_gastown.llm.anthropic_backend import AnthropicBackend

            backend = AnthropicBackend(
                api_key=environ.get("ANTHROPIC_API_KEY"),
                base_url=environ.get("ANTHROPIC_BASE_URL"),
                allow_non_haiku=self.allow_non_haiku,
            )
        if self.record is not None:
            from micro_gastown.llm.replay import RecordingBackend

            return RecordingBackend(backend, self.record)
        return backend

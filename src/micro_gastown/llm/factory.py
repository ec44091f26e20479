"""Build the LLM backend a command asked for (``--backend``), importing only that one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from micro_gastown.errors import UsageError
from micro_gastown.llm.base import LlmBackend

BACKENDS = ("anthropic", "claude-code", "replay")


def build_backend(
    name: str,
    *,
    environ: Mapping[str, str],
    allow_non_haiku: bool = False,
    replay: Path | None = None,
    claude_path: str = "claude",
) -> LlmBackend:
    """``anthropic`` (ANTHROPIC_API_KEY), ``claude-code`` (your Claude Code login) or
    ``replay`` (answers recorded in ``--replay FILE``; no network, no key)."""
    if name == "replay":
        if replay is None:
            raise UsageError("--backend replay needs --replay FILE (recorded answers)")
        from micro_gastown.llm.replay import ReplayBackend

        return ReplayBackend(replay)
    if replay is not None:
        raise UsageError("--replay FILE goes with --backend replay")
    if name == "claude-code":
        from micro_gastown.llm.claude_code import ClaudeCodeBackend

        return ClaudeCodeBackend(executable=claude_path, allow_non_haiku=allow_non_haiku)
    if name == "anthropic":
        from micro_gastown.llm.anthropic_backend import AnthropicBackend

        return AnthropicBackend(
            api_key=environ.get("ANTHROPIC_API_KEY"),
            base_url=environ.get("ANTHROPIC_BASE_URL"),
            allow_non_haiku=allow_non_haiku,
        )
    raise UsageError(f"--backend {name!r}: expected one of {', '.join(BACKENDS)}")

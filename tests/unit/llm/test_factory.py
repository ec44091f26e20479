"""BackendChoice: the model flags as one value, checked early and kept in a run's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import UsageError
from micro_gastown.llm.claude_code import ClaudeCodeBackend
from micro_gastown.llm.factory import BackendChoice
from micro_gastown.llm.replay import RecordingBackend, ReplayBackend


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "gpt"}, "--backend 'gpt': expected one of anthropic, claude-code, replay"),
        ({"name": "replay"}, "--replay: the replay backend needs a file of recorded answers"),
        (
            {"name": "anthropic", "replay": Path("r.json")},
            "--replay: recorded answers are played by the replay backend only",
        ),
        (
            {"name": "replay", "replay": Path("r.json"), "record": Path("w.json")},
            "--record: recording needs a live backend",
        ),
    ],
)
def test_combinations_that_cannot_work_name_the_flags(
    kwargs: dict[str, object], needle: str
) -> None:
    with pytest.raises(UsageError) as caught:
        BackendChoice(**kwargs)  # type: ignore[arg-type]
    assert worded(caught.value).startswith(needle)
    assert "--" not in str(caught.value)


def test_settings_round_trip(tmp_path: Path) -> None:
    choice = BackendChoice(
        "claude-code", record=tmp_path / "rec.json", allow_non_haiku=True, claude_path="/opt/claude"
    )
    settings = choice.settings()
    assert settings == {
        "backend": "claude-code",
        "allow_non_haiku": True,
        "claude_path": "/opt/claude",
        "record": str(tmp_path / "rec.json"),
    }
    assert BackendChoice.from_settings(settings) == choice
    assert BackendChoice.from_settings({}) == BackendChoice()


def test_build_gives_the_named_backend_and_wraps_a_recorder(tmp_path: Path) -> None:
    replay_file = tmp_path / "replay.json"
    replay_file.write_text("{}")
    assert isinstance(BackendChoice("replay", replay=replay_file).build({}), ReplayBackend)
    plain = BackendChoice("claude-code").build({})
    assert isinstance(plain, ClaudeCodeBackend)
    recorded = BackendChoice("claude-code", record=tmp_path / "out.json").build({})
    assert isinstance(recorded, RecordingBackend)
    assert isinstance(recorded.inner, ClaudeCodeBackend)

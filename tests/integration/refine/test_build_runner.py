"""The must_pass runner: real processes (small shell scripts in tmp_path) as the commands."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from micro_gastown.refine.build import build_environment, run_commands
from micro_gastown.refine.model import CheckOutcome

from pipewait import read_until

# Only what a shell script needs: nothing of the machine's own environment leaks in.
BASE_ENV = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}


def script(tmp_path: Path, name: str, body: str) -> str:
    """Write an executable ``/bin/sh`` script and return the command that runs it."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return shlex.quote(str(path))


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (no longer exists, or is a zombie) within the bound."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_command_that_succeeds_passes_with_its_output(tmp_path: Path) -> None:
    command = script(tmp_path, "build.sh", "echo building in $(pwd)\necho 'all good' >&2\n")
    (result,) = run_commands([command], tmp_path, timeout_s=30, env=BASE_ENV)
    assert result.outcome is CheckOutcome.PASSED
    assert result.name == command
    assert result.output == f"building in {tmp_path}\nall good\n"
    assert result.reason == ""
    assert result.duration_s > 0


def test_a_failing_command_fails_with_its_status_and_stops_the_rest(tmp_path: Path) -> None:
    failing = script(tmp_path, "build.sh", "echo 'Graph.hs:7: error: not in scope'\nexit 3\n")
    never = script(tmp_path, "test.sh", "touch ran\n")
    first, second = run_commands([failing, never], tmp_path, timeout_s=30, env=BASE_ENV)
    assert first.outcome is CheckOutcome.FAILED
    assert first.reason == f"`{failing}` exited with status 3"
    assert first.output == "Graph.hs:7: error: not in scope\n"
    assert second.outcome is CheckOutcome.NOT_RUN
    assert second.reason == f"not run: `{failing}` did not pass"
    assert not (tmp_path / "ran").exists()


def test_a_command_killed_by_a_signal_fails_naming_it(tmp_path: Path) -> None:
    command = script(tmp_path, "crash.sh", "kill -KILL $$\n")
    (result,) = run_commands([command], tmp_path, timeout_s=30, env=BASE_ENV)
    assert result.outcome is CheckOutcome.FAILED
    assert result.reason == f"`{command}` was killed by SIGKILL"


def test_fifty_megabytes_of_output_keep_only_a_bounded_tail(tmp_path: Path) -> None:
    body = "yes 0123456789abcdefghi | head -c 52428800\necho\necho 'last line'\n"
    command = script(tmp_path, "noisy.sh", body)
    tracemalloc.start()
    try:
        (result,) = run_commands([command], tmp_path, timeout_s=120, env=BASE_ENV, tail_chars=500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome is CheckOutcome.PASSED
    assert result.output.startswith("[earlier output cut]\n")
    assert result.output.endswith("0123456789abcdefghi\n\nlast line\n")
    assert len(result.output) <= 500 + len("[earlier output cut]\n")
    assert peak < 8_000_000, f"reading 50 MB of output peaked at {peak} bytes"


def test_a_timeout_is_not_validated_and_kills_the_whole_group(tmp_path: Path) -> None:
    # The script and its grandchild ignore SIGTERM: only SIGKILL after the grace ends them.
    body = """\
        trap '' TERM
        sleep 300 &
        echo $! > grandchild.pid
        echo started
        sleep 300
    """
    slow = script(tmp_path, "slow.sh", body)
    after = script(tmp_path, "after.sh", "touch ran\n")
    first, second = run_commands(
        [slow, after], tmp_path, timeout_s=1, env=BASE_ENV, kill_grace_s=0.5
    )
    assert first.outcome is CheckOutcome.NOT_RUN
    assert first.reason == f"not validated: `{slow}` timed out after 1 s"
    assert first.output == "started\n"
    assert first.duration_s < 60
    assert second.outcome is CheckOutcome.NOT_RUN
    assert second.reason == f"not run: `{slow}` did not pass"
    assert gone(int((tmp_path / "grandchild.pid").read_text()))


def test_a_process_a_passing_command_leaves_behind_is_killed(tmp_path: Path) -> None:
    body = "sleep 300 &\necho $! > background.pid\necho built\n"
    command = script(tmp_path, "build.sh", body)
    (result,) = run_commands([command], tmp_path, timeout_s=60, env=BASE_ENV)
    assert result.outcome is CheckOutcome.PASSED
    assert result.output == "built\n"
    assert gone(int((tmp_path / "background.pid").read_text()))


def test_a_missing_tool_is_not_validated_never_passed(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {"PATH": str(empty_bin)}
    build, test = run_commands(
        ["cabal build all", "cabal test all"], tmp_path, timeout_s=30, env=env
    )
    assert build.outcome is CheckOutcome.NOT_RUN
    assert build.reason == "not validated: `cabal` is not installed (not on PATH)"
    assert test.outcome is CheckOutcome.NOT_RUN
    assert test.reason == "not run: `cabal build all` did not pass"


def test_an_unparsable_command_fails_naming_it(tmp_path: Path) -> None:
    (result,) = run_commands(['cabal build "all'], tmp_path, timeout_s=30, env=BASE_ENV)
    assert result.outcome is CheckOutcome.FAILED
    assert result.reason.startswith('`cabal build "all` cannot be parsed as a command: ')


def test_secrets_in_our_environment_never_reach_the_command(tmp_path: Path) -> None:
    ours = {
        **BASE_ENV,
        "HOME": str(tmp_path),
        "ANTHROPIC_API_KEY": "sk-ant-api03-never-show-me",
        "GITHUB_TOKEN": "ghp_never_show_me",
        "gh_token": "lowercase-never-show-me",
        "ACTIONS_RUNTIME_TOKEN": "runtime-never-show-me",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/never-show-me",
        "LOKI_URL": "https://loki.example/never-show-me",
        "MICRO_GASTOWN_LOKI_PASSWORD": "loki-never-show-me",
        "AWS_SECRET_ACCESS_KEY": "aws-never-show-me",
        "DB_Password": "db-never-show-me",
        "OPENAI_API_KEY": "openai-never-show-me",
        "GOOGLE_APPLICATION_CREDENTIALS": "/creds/never-show-me.json",
        "SIGNING_PRIVATE_KEY": "pk-never-show-me",
        "SSH_AUTH_SOCK": "/tmp/agent-never-show-me",
        "CABAL_DIR": str(tmp_path / "cabal"),
    }
    command = script(tmp_path, "env.sh", "env > seen.env\n")
    (result,) = run_commands([command], tmp_path, timeout_s=30, env=build_environment(ours))
    assert result.outcome is CheckOutcome.PASSED
    seen = (tmp_path / "seen.env").read_text()
    assert "never-show-me" not in seen
    assert f"CABAL_DIR={tmp_path / 'cabal'}" in seen
    assert f"PATH={BASE_ENV['PATH']}" in seen


def test_build_environment_keeps_what_a_build_needs() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/ci",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "CABAL_DIR": "/home/ci/.cabal",
        "GITHUB_WORKSPACE": "/work",
        "ACTIONS_CACHE_URL": "https://cache.example/",
        "prompt_token_budget": "100",
        "GITHUB_TOKEN": "x",
        "Loki_Url": "x",
    }
    assert build_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/ci",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "CABAL_DIR": "/home/ci/.cabal",
        "GITHUB_WORKSPACE": "/work",
        "ACTIONS_CACHE_URL": "https://cache.example/",
    }


def test_a_secret_the_command_prints_is_redacted_from_the_tail(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    body = f"""\
        echo "fetching with token {token}"
        echo 'aws_access_key_id = AKIAIOSFODNN7REALKEY'
        printf 'colour \\033[31mred\\033[0m and \\342\\200\\256 bidi\\n'
        exit 1
    """
    command = script(tmp_path, "leak.sh", body)
    (result,) = run_commands([command], tmp_path, timeout_s=30, env=BASE_ENV)
    assert result.outcome is CheckOutcome.FAILED
    assert token not in result.output
    assert "AKIAIOSFODNN7REALKEY" not in result.output
    assert "[REDACTED:" in result.output
    assert "\x1b" not in result.output
    assert "\u202e" not in result.output
    assert "colour [31mred[0m and  bidi" in result.output


DRIVER = """\
import signal, sys
from pathlib import Path
from micro_gastown.refine.build import run_commands
from micro_gastown.termination import exit_on_term

signal.signal(signal.SIGTERM, exit_on_term)
run_commands([sys.argv[1]], Path(sys.argv[2]), timeout_s=300, env={"PATH": sys.argv[3]},
             kill_grace_s=0.5)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_our_process_kills_the_running_command_group(
    tmp_path: Path, signum: signal.Signals
) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep_open = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # no EOF before the script writes
    body = """\
        trap '' TERM
        sleep 300 &
        echo "$$ $!" > started
        sleep 300
    """
    command = script(tmp_path, "build.sh", body)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(driver), command, str(tmp_path), BASE_ENV["PATH"]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        pids = [int(p) for p in read_until(reader, b"\n", timeout=60).split()]
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        os.close(reader)
        os.close(keep_open)
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode != 0
    assert all(gone(pid) for pid in pids), pids

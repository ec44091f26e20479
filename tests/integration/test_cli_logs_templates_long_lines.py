"""`logs templates` on very long lines: memory follows the clustered start, not the line."""

from __future__ import annotations

import json
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.cli.logs import templates


def test_a_20_mb_line_costs_memory_of_its_start_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line is read past, not held (it used to be read, masked and tokenised whole),
    and output line N still describes input line N."""
    path = tmp_path / "messages.log"
    with path.open("wb") as out:  # written in pieces: the test process itself stays small
        out.write(b"dump ")
        for _ in range(20):
            out.write(b"abc " * 250_000)  # 20 MB, 5M tokens in all
        out.write(b"\ntool search failed\n")
        for _ in range(3):
            out.write(b"z" * 1_000_000)  # no newline at the end either
    warm_up = tmp_path / "short.log"
    warm_up.write_bytes(b"tool fetch failed\n")
    assert main(["logs", "templates", str(warm_up)]) == 0  # imports are not the point
    capsys.readouterr()
    tracemalloc.start()
    try:
        assert main(["logs", "templates", str(path)]) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert peak < 5_000_000
    assert [r["template_id"] for r in records] == [1, 2, 3]
    assert records[0]["template"].startswith("dump abc abc")
    assert records[0]["template"].endswith(" <*>")
    assert records[1]["template"] == "tool search failed"
    assert records[2]["template"].startswith("zzzz")  # cut, then shortened by redaction


def test_an_endless_device_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/zero (a node for it in tmp_path) has no newline, ever: refused with one line
    naming it, after a bounded read (it used to be read until memory ran out)."""
    monkeypatch.setattr(templates, "ENDLESS_LINE_BYTES", 1 << 20)
    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    assert main(["logs", "templates", str(zero)]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"cannot read {zero}: no newline in 1 MiB" in err

"""`micro-gastown logs templates FILE`: one template per input line, in input order."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from micro_gastown.cli import main

LINES = [
    "payment gateway timeout after 30000 ms for order 12345",
    "tool search failed",
    "payment gateway timeout after 29871 ms for order 99",
    "tool fetch failed",
    "schema validation failed for node classify",
]
EXPECTED = [
    {"template_id": 1, "template": "payment gateway timeout after <*> ms for order <*>"},
    {"template_id": 2, "template": "tool <*> failed"},
    {"template_id": 1, "template": "payment gateway timeout after <*> ms for order <*>"},
    {"template_id": 2, "template": "tool <*> failed"},
    {"template_id": 3, "template": "schema validation failed for node classify"},
]


def _records(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_each_line_gets_its_final_template_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Line 2 was alone in its cluster when read, yet shows the generalised template."""
    path = _write(tmp_path / "messages.log", LINES)
    assert main(["logs", "templates", str(path)]) == 0
    out, err = capsys.readouterr()
    assert _records(out) == EXPECTED
    assert err == ""


def test_gzip_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "messages.log.gz"
    path.write_bytes(gzip.compress("\n".join(LINES).encode()))
    assert main(["logs", "templates", str(path)]) == 0
    assert _records(capsys.readouterr().out) == EXPECTED


def test_gzip_recognised_without_gz_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "messages.log"
    path.write_bytes(gzip.compress("\n".join(LINES).encode()))
    assert main(["logs", "templates", str(path)]) == 0
    assert _records(capsys.readouterr().out) == EXPECTED


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, "\n".join(LINES).encode())
    assert main(["logs", "templates", "-"]) == 0
    assert _records(capsys.readouterr().out) == EXPECTED


def test_gzipped_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, gzip.compress("\n".join(LINES).encode()))
    assert main(["logs", "templates", "-"]) == 0
    assert _records(capsys.readouterr().out) == EXPECTED


def test_blank_lines_and_crlf_keep_output_aligned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Blank lines are messages (template ""), CRLF endings are stripped, \\r inside stays."""
    path = tmp_path / "messages.log"
    path.write_bytes(b"tool search failed\r\n\r\n\ntool fetch failed\nlast line no newline")
    assert main(["logs", "templates", str(path)]) == 0
    assert _records(capsys.readouterr().out) == [
        {"template_id": 1, "template": "tool <*> failed"},
        {"template_id": 2, "template": ""},
        {"template_id": 2, "template": ""},
        {"template_id": 1, "template": "tool <*> failed"},
        {"template_id": 3, "template": "last line no newline"},
    ]


def test_non_utf8_bytes_are_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "messages.log"
    path.write_bytes(b"bad byte \xff in message\nlatin caf\xe9 ok\n")
    assert main(["logs", "templates", str(path)]) == 0
    assert _records(capsys.readouterr().out) == [
        {"template_id": 1, "template": "bad byte \ufffd in message"},
        {"template_id": 2, "template": "latin caf\ufffd ok"},
    ]


def test_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "messages.log", LINES[:2])
    assert main(["logs", "templates", "--format", "text", str(path)]) == 0
    assert capsys.readouterr().out == (
        "1\tpayment gateway timeout after <*> ms for order <*>\n2\ttool search failed\n"
    )


def test_empty_file_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    assert main(["logs", "templates", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_missing_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.log"
    assert main(["logs", "templates", str(missing)]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    said = f"micro-gastown logs templates: error: cannot read {missing}"
    assert err == f"{said}: No such file or directory\n"


@pytest.mark.parametrize(
    "content",
    [b"\x1f\x8bnot really gzip", gzip.compress(b"truncated stream " * 100)[:40]],
    ids=["bad-gzip", "truncated-gzip"],
)
def test_corrupt_gzip_is_a_source_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "broken.log.gz"
    path.write_bytes(content)
    assert main(["logs", "templates", str(path)]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"micro-gastown logs templates: error: cannot read {path}: ")
    assert err.count("\n") == 1


def test_directory_is_a_source_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "templates", str(tmp_path)]) == 3
    assert f"cannot read {tmp_path}" in capsys.readouterr().err


def test_logs_without_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs"]) == 2
    assert "SUBCOMMAND" in capsys.readouterr().err


def test_templates_are_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret in a message never reaches the output, even in a one-off template."""
    path = tmp_path / "messages.txt"
    path.write_text("login rejected password=hunter2pass\n")
    assert main(["logs", "templates", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hunter2pass" not in out
    assert "REDACTED" in out


def test_lines_past_the_template_limit_get_the_overflow_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from micro_gastown.clustering import OVERFLOW_TEXT, miner

    monkeypatch.setattr(miner, "MAX_TEMPLATES", 1)
    path = tmp_path / "errors.log"
    path.write_text("payment gateway timeout\nschema validation failed\npayment gateway timeout\n")
    assert main(["logs", "templates", "--format", "text", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "1\tpayment gateway timeout",
        f"0\t{OVERFLOW_TEXT}",
        "1\tpayment gateway timeout",
    ]

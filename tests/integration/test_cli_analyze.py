"""`micro-gastown analyze`: flags, outputs, and one-line errors with the right exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.timewindow import format_ns

from factories import BASE_NS, small_export

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "exomonad-sample"


def _export(tmp_path: Path) -> Path:
    return small_export(tmp_path / "export.jsonl")


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("micro-gastown analyze: error: ")
    return err


def test_json_report_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--source", f"file:{_export(tmp_path)}"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["critical"] >= 2
    assert report["metadata"]["events_analyzed"] == 50


def test_output_file_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.md"
    args = ["analyze", "--source", f"file:{_export(tmp_path)}", "--format", "markdown"]
    assert main([*args, "--output", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# micro-gastown: log analysis")
    assert "| 🔴 critical | slow_llm |" in text
    assert "wrote" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_fail_on_sets_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = f"file:{_export(tmp_path)}"
    assert main(["analyze", "--source", source, "--fail-on", "critical"]) == 1
    assert (
        main(
            [
                "analyze",
                "--source",
                source,
                "--fail-on",
                "critical",
                "--latency-critical-ms",
                "9000",
                "--error-rate-critical",
                "0.9",
            ]
        )
        == 0
    )


def test_since_until_filter_by_event_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"file:{_export(tmp_path)}"
    since = format_ns(BASE_NS + 10 * 1_000_000)  # after the first ten events
    until = format_ns(BASE_NS + 20 * 1_000_000)
    assert main(["analyze", "--source", source, "--since", since, "--until", until]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metadata"]["events_analyzed"] == 10
    assert report["metadata"]["outside_window"] == 40


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--source", "bogus"], 2, "--source 'bogus'"),
        (["--source", "file:{missing}"], 3, "no such log export file"),
        (["--source", "file:{export}", "--since", "yesterday"], 2, "--since 'yesterday'"),
        (["--source", "file:{export}", "--latency-warning-ms", "abc"], 2, "--latency-warning-ms"),
        (
            ["--source", "file:{export}", "--latency-warning-ms", "9000"],
            2,
            "latency_warning_ms must not exceed latency_critical_ms",
        ),
        (["--source", "file:{export}", "--repo", "{missing}"], 3, "missing"),
        (["--source", "file:{export}", "--output", "{missing}/r.json"], 6, "does not exist"),
        (["--source", "file:{export}", "--grafana-url", "http://g"], 2, "go together"),
        (["--source", "file:{export}", "--selector", "job=x"], 2, "--selector"),
        (["--source", "file:{export}", "--bogus-flag"], 2, "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    export = _export(tmp_path)
    missing = tmp_path / "missing"
    filled = [a.format(export=export, missing=missing) for a in args]
    assert main(["analyze", *filled]) == code
    assert needle in _error_line(capsys)


def test_polecat_errors_name_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--polecat is read as a whole polecat, as `validate` reads it (one loader)."""
    shipped = (ROOT / "polecats" / "log-analyzer.toml").read_text()
    polecat = tmp_path / "log-analyzer.toml"
    polecat.write_text(shipped.replace("latency_warning_ms = 2000", "latency_warning_ms = 'slow'"))
    assert (
        main(["analyze", "--source", f"file:{_export(tmp_path)}", "--polecat", str(polecat)]) == 2
    )
    line = _error_line(capsys)
    assert str(polecat) in line
    assert "thresholds.latency_warning_ms: should be an integer" in line
    polecat.write_text(shipped.replace("latency_warning_ms = 2000", "latency_warnin_ms = 1"))
    assert (
        main(["analyze", "--source", f"file:{_export(tmp_path)}", "--polecat", str(polecat)]) == 2
    )
    assert "latency_warnin_ms" in _error_line(capsys)
    polecat.write_text("[thresholds\n")
    assert (
        main(["analyze", "--source", f"file:{_export(tmp_path)}", "--polecat", str(polecat)]) == 2
    )
    assert "invalid TOML" in _error_line(capsys)


def test_grafana_links_use_the_configured_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "analyze",
        "--source",
        f"file:{_export(tmp_path)}",
        "--grafana-url",
        "https://grafana.example.org/",
        "--grafana-datasource",
        "loki-uid",
    ]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    urls = [p["grafana_url"] for p in report["patterns"]]
    assert urls
    assert all(u.startswith("https://grafana.example.org/explore?") for u in urls)
    assert all("loki-uid" in u for u in urls)


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "micro_gastown",
            "analyze",
            "--source",
            f"file:{_export(tmp_path)}",
            "--format",
            "markdown",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "slow_llm" in result.stdout


def test_empty_window_gives_an_empty_valid_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A window with no events is not an error: zero patterns (not every declared edge as
    "dead"), and the note and a warning say why."""
    source = f"file:{_export(tmp_path)}"
    since = "2099-01-01T00:00:00Z"
    assert main(["analyze", "--source", source, "--since", since, "--repo", str(SAMPLE)]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["patterns"] == []
    empty = "no events in the window (50 lines read fell outside it)"
    assert any(note.startswith(empty) for note in report["metadata"]["notes"])
    assert f"micro-gastown analyze: warning: {empty}" in err
    assert report["summary"] == {
        "total_patterns": 0,
        "critical": 0,
        "warning": 0,
        "info": 0,
        "query_range": {"start": "2099-01-01T00:00:00.000000000Z"},
        "events_analyzed": 0,
    }
    assert report["metadata"]["outside_window"] == 50


def test_empty_file_gives_an_empty_markdown_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert main(["analyze", "--source", f"file:{empty}", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "**0 patterns**" in out
    assert "No patterns crossed the thresholds." in out


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--jobs", "0"], {}, "--jobs 0: expected 1 or more"),
        ([], {"MICRO_GASTOWN_JOBS": "many"}, "MICRO_GASTOWN_JOBS='many'"),
    ],
)
def test_bad_jobs_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    needle: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["analyze", "--source", f"file:{_export(tmp_path)}", *args]) == 2
    assert needle in _error_line(capsys)


def test_jobs_do_not_change_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--jobs only changes how the file is read (tiny parts forced through the setting)."""
    import micro_gastown.app.analyzer as analyze_app

    real = analyze_app.AnalysisSettings

    def tiny_parts(**kwargs: object) -> object:
        return real(**kwargs, min_part_bytes=1)  # type: ignore[arg-type]

    monkeypatch.setattr(analyze_app, "AnalysisSettings", tiny_parts)
    source = f"file:{_export(tmp_path)}"
    reports = []
    for jobs in ("1", "3"):
        assert main(["analyze", "--source", source, "--jobs", jobs]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["metadata"]["parts"] == int(jobs)
        for volatile in ("generated_at", "query_duration_ms", "parts"):
            report["metadata"].pop(volatile)
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["summary"]["critical"] >= 2


def test_max_lines_stops_reading_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"file:{_export(tmp_path)}"
    assert main(["analyze", "--source", source, "--max-lines", "10"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["metadata"]["truncated"] is True
    assert report["metadata"]["lines_read"] == 11  # one more, to know that more was there
    assert report["metadata"]["events_analyzed"] == 10
    assert any("the line cap of 10 entries" in note for note in report["metadata"]["notes"])
    assert not any("--" in note for note in report["metadata"]["notes"])
    assert "warning: stopped after --max-lines 10 lines" in captured.err


def test_max_lines_above_the_total_is_not_truncation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"file:{_export(tmp_path)}"
    assert main(["analyze", "--source", source, "--max-lines", "50"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "truncated" not in report["metadata"]
    assert report["metadata"]["events_analyzed"] == 50
    assert "warning" not in captured.err
    assert main(["analyze", "--source", source, "--max-lines", "0"]) == 2
    assert "--max-lines 0" in _error_line(capsys)

"""Acceptance: ``analyze --source loki --since 24h`` under every way a Loki asks for auth.

For each mode (basic auth under the sleeptime-logs and the logcli names, a bearer token,
a multi-tenant Loki, a path prefix behind a gateway) the real CLI, configured only by the
environment, must give the same patterns and summary as the same export read from a file;
and the same mode with a wrong setting must exit non-zero, name the setting to fix, and
never print a secret. "Now" is frozen so ``--since 24h`` is reproducible.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import micro_gastown.app.analyzer as analyze_command
from micro_gastown.cli import main
from micro_gastown.testing.synthetic import DEMO, generate_export
from micro_gastown.timewindow import window_from_flags

from factories import push_export
from lokisim import Auth, LokiSim
from lokisim.tenants import TenantLokiSim

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RIGHT = "s3cret-right-7f1c"
WRONG = "s3cret-wrong-9d2e"
PREFIX = "/loki-gateway"
TENANT = "tenant-a"
# Every variable that could steer a run; cleared so only what a case sets counts.
_OWN_PREFIXES = ("LOKI_", "GRAFANA_", "MICRO_GASTOWN_")


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.stdout)
        return report


def run_analyze(source: str, environ: dict[str, str]) -> CliRun:
    """The real entry point, with exactly ``environ`` and a frozen clock."""
    raw = io.BytesIO()  # analyze writes the report to sys.stdout.buffer
    out, err = io.TextIOWrapper(raw, encoding="utf-8"), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name in list(os.environ):
            if name.startswith(_OWN_PREFIXES):
                patch.delenv(name)
        for name, value in environ.items():
            patch.setenv(name, value)
        patch.setattr(analyze_command, "window_from_flags", partial(window_from_flags, now=NOW))
        window = ["--since", "24h", "--until", NOW.isoformat()]
        code = main(["analyze", "--source", source, *window, "--jobs", "1"])
        out.flush()
    return CliRun(code, raw.getvalue().decode(), err.getvalue())


@dataclass(frozen=True)
class Mode:
    """One auth setup: what the sim demands, the env that satisfies it, and a wrong env."""

    auth: Auth
    environ: dict[str, str]
    wrong: dict[str, str]  # over ``environ``; "" unsets a variable
    names: tuple[str, ...]  # what the error must name
    url_var: str = "LOKI_ADDR"
    prefix: str = ""
    tenants: bool = False


MODES = {
    "basic, sleeptime-logs names": Mode(
        Auth(basic=("123456", RIGHT)),
        {"GRAFANA_LOKI_USER": "123456", "GRAFANA_LOKI_TOKEN": RIGHT},
        {"GRAFANA_LOKI_TOKEN": WRONG},
        ("401", "GRAFANA_LOKI_USER/GRAFANA_LOKI_TOKEN", "'123456'"),
        url_var="GRAFANA_LOKI_URL",
    ),
    "basic, logcli names": Mode(
        Auth(basic=("reader", RIGHT)),
        {"LOKI_USERNAME": "reader", "LOKI_PASSWORD": RIGHT},
        {"LOKI_PASSWORD": WRONG},
        ("401", "LOKI_USERNAME/LOKI_PASSWORD"),
    ),
    "bearer token": Mode(
        Auth(bearer=RIGHT),
        {"LOKI_BEARER_TOKEN": RIGHT},
        {"LOKI_BEARER_TOKEN": WRONG},
        ("401", "LOKI_BEARER_TOKEN"),
    ),
    "tenant header": Mode(
        Auth(org_id=True),
        {"LOKI_ORG_ID": TENANT},
        {"LOKI_ORG_ID": ""},
        ("401", "LOKI_ORG_ID", "X-Scope-OrgID"),
        tenants=True,
    ),
    "path prefix": Mode(
        Auth(bearer=RIGHT),
        {"LOKI_BEARER_TOKEN": RIGHT},
        {"LOKI_ADDR": "{root}"},  # the gateway without its prefix
        ("404", "LOKI_ADDR", "path prefix"),
        prefix=PREFIX,
    ),
}


@dataclass(frozen=True)
class Export:
    path: Path
    from_file: dict[str, Any]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """2k lines over 3 h (so several 1 h sub-ranges), and its report read from the file."""
    path = tmp_path_factory.mktemp("auth") / "export.jsonl"
    generate_export(
        path,
        lines=2000,
        seed=3,
        scenario=DEMO,
        start=NOW - timedelta(hours=6),
        duration=timedelta(hours=3),
    )
    run = run_analyze(f"file:{path}", {})
    assert run.code == 0, run.stderr
    report = run.report
    assert report["summary"]["critical"] > 0  # something to compare, not two empty reports
    return Export(path, report)


@contextmanager
def loki_for(mode: Mode, export: Export) -> Iterator[tuple[LokiSim, dict[str, str]]]:
    """A started sim demanding ``mode``'s auth, holding the export; and the env to reach it."""
    sim_class = TenantLokiSim if mode.tenants else LokiSim
    with sim_class(auth=mode.auth, path_prefix=mode.prefix) as sim:
        push_export(sim.as_tenant(TENANT) if isinstance(sim, TenantLokiSim) else sim, export.path)
        environ = {mode.url_var: sim.url, "MICRO_GASTOWN_LOKI_CONCURRENCY": "4", **mode.environ}
        yield sim, environ
        assert not sim.errors, "\n".join(sim.errors)


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_each_auth_mode_gives_the_files_report(mode: Mode, export: Export) -> None:
    with loki_for(mode, export) as (sim, environ):
        run = run_analyze("loki", environ)
        requests, url = len(sim.requests), sim.url
    assert run.code == 0, run.stderr
    report = run.report
    assert report["patterns"] == export.from_file["patterns"]
    assert report["summary"] == export.from_file["summary"]
    assert report["metadata"]["source"] == f"loki:{url}"
    assert report["metadata"]["requests"] == requests >= 24  # 24 one-hour sub-ranges
    for secret in (RIGHT, WRONG):
        assert secret not in run.stdout + run.stderr


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_a_wrong_setting_exits_non_zero_naming_it_without_the_secret(
    mode: Mode, export: Export
) -> None:
    with loki_for(mode, export) as (sim, environ):
        root = f"http://127.0.0.1:{sim.port}"
        wrong = {name: value.format(root=root) for name, value in mode.wrong.items()}
        environ = {name: value for name, value in {**environ, **wrong}.items() if value}
        run = run_analyze("loki", environ)
    assert run.code != 0
    assert run.stdout == ""  # no report on a failed read
    assert re.match(r"micro-gastown(?: [a-z-]+)*: error: ", run.stderr)  # the command may be named
    for name in mode.names:
        assert name in run.stderr
    for secret in (RIGHT, WRONG):
        assert secret not in run.stdout + run.stderr


def test_another_tenant_sees_none_of_the_logs(export: Export) -> None:
    """With multi-tenancy on, the Loki that gives tenant-a the file's report (see the
    "tenant header" mode above) is empty for any other X-Scope-OrgID: no error, no data."""
    mode = MODES["tenant header"]
    with loki_for(mode, export) as (_, environ):
        other = run_analyze("loki", {**environ, "LOKI_ORG_ID": "tenant-b"})
    assert other.code == 0, other.stderr
    assert other.report["patterns"] == []
    assert other.report["summary"]["events_analyzed"] == 0
    assert other.report["metadata"]["lines_read"] == 0

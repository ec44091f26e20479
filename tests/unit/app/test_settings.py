"""Analyzer settings resolve flag > environment > polecat file > default, in one place, and
a value that does not fit names where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.app.settings import SettingError, resolve_analyzer_settings
from micro_gastown.config.polecat import Polecat, load_polecat
from micro_gastown.thresholds import Thresholds

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def polecat_file(tmp_path: Path) -> Path:
    shipped = (ROOT / "polecats" / "log-analyzer.toml").read_text()
    path = tmp_path / "log-analyzer.toml"
    path.write_text(shipped.replace("min_occurrences = 3\n", "min_occurrences = 5\n"))
    return path


@pytest.fixture
def polecat(polecat_file: Path) -> Polecat:
    return load_polecat(polecat_file)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MICRO_GASTOWN_JOBS", "GRAFANA_URL", "GRAFANA_LOKI_DATASOURCE_UID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MICRO_GASTOWN_THRESHOLDS__MIN_OCCURRENCES", raising=False)


def test_each_layer_wins_over_the_ones_below(
    polecat: Polecat, polecat_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def min_occurrences(given: int | None) -> int:
        settings = resolve_analyzer_settings(
            {"thresholds": {"min_occurrences": given}}, polecat, polecat_file
        )
        return settings.thresholds.min_occurrences

    assert resolve_analyzer_settings({}).thresholds == Thresholds()  # defaults: 3
    assert min_occurrences(None) == 5  # the polecat file
    monkeypatch.setenv("MICRO_GASTOWN_THRESHOLDS__MIN_OCCURRENCES", "7")
    assert min_occurrences(None) == 7  # the environment over the file
    assert min_occurrences(9) == 9  # a flag over everything


def test_a_partial_override_keeps_the_rest_of_the_polecats_table(
    polecat: Polecat, polecat_file: Path
) -> None:
    settings = resolve_analyzer_settings(
        {"thresholds": {"latency_warning_ms": 10}}, polecat, polecat_file
    )
    assert settings.thresholds.latency_warning_ms == 10
    assert settings.thresholds.min_occurrences == 5
    assert settings.thresholds.latency_critical_ms == Thresholds().latency_critical_ms


def test_environment_settings_outside_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICRO_GASTOWN_JOBS", "3")
    monkeypatch.setenv("GRAFANA_URL", "https://grafana.example")
    settings = resolve_analyzer_settings({})
    assert (settings.jobs, settings.grafana_url) == (3, "https://grafana.example")
    assert resolve_analyzer_settings({"jobs": 2}).jobs == 2


@pytest.mark.parametrize(
    ("given", "environment", "origin", "words"),
    [
        ({"jobs": 0}, {}, "given", "jobs 0: expected 1 or more"),
        (
            {},
            {"MICRO_GASTOWN_JOBS": "many"},
            "environment",
            "MICRO_GASTOWN_JOBS='many': expected a whole number",
        ),
        (
            {},
            {"MICRO_GASTOWN_THRESHOLDS__MIN_OCCURRENCES": "0"},
            "environment",
            "MICRO_GASTOWN_THRESHOLDS__MIN_OCCURRENCES='0': expected 1 or more",
        ),
        (
            {"thresholds": {"latency_warning_ms": 99_999}},
            {},
            "given",
            "latency_warning_ms must not exceed latency_critical_ms",
        ),
        ({"detectors": ("slow_llm", "fast_llm")}, {}, "given", "expected some of"),
    ],
)
def test_a_bad_value_names_its_origin(
    given: dict[str, object],
    environment: dict[str, str],
    origin: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as raised:
        resolve_analyzer_settings(given)
    assert raised.value.origin == origin
    assert words in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_cross_key_problem_from_the_file_names_the_file(
    polecat: Polecat, polecat_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file alone is sound; an environment value makes the pair disagree: the variable is
    named. With no variable or flag involved, the file is."""
    monkeypatch.setenv("MICRO_GASTOWN_THRESHOLDS__LATENCY_CRITICAL_MS", "1")
    with pytest.raises(SettingError) as raised:
        resolve_analyzer_settings({}, polecat, polecat_file)
    assert raised.value.origin == "environment"
    assert "MICRO_GASTOWN_THRESHOLDS__LATENCY_CRITICAL_MS='1'" in str(raised.value)

"""The engine's pure helpers: {{var}} substitution, step conditions, and step order."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from micro_gastown.config import (
    DagFormula,
    DagStep,
    evaluate_condition,
    parse_condition,
    substitute,
    topological_order,
)
from micro_gastown.config.dag import find_cycles
from micro_gastown.errors import ConfigError


def test_substitute_replaces_every_placeholder() -> None:
    values = {"since": "24h", "steps.analyze.output": "runs/1/analyze.json"}
    assert substitute("last {{since}}, then {{ since }}", values) == "last 24h, then 24h"
    assert substitute("{{steps.analyze.output}}", values) == "runs/1/analyze.json"
    assert substitute("no placeholders {here}", values) == "no placeholders {here}"


def test_substitute_does_not_rescan_what_it_inserted() -> None:
    assert substitute("{{a}}", {"a": "{{b}}"}) == "{{b}}"


def test_substitute_rejects_unknown_and_malformed_placeholders() -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown variable 'until' in 'to {{until}}'")):
        substitute("to {{until}}", {"since": "1h"})
    with pytest.raises(ConfigError, match="is not a placeholder"):
        substitute("{{ two words }}", {"two": "x"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("yes", True),
        ("1", True),
        ("anything", True),
        (" False ", False),
        ("", False),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
    ],
)
def test_a_bare_var_condition_is_its_truthiness(value: str, expected: bool) -> None:
    assert evaluate_condition("{{dry_run}}", {"dry_run": value}) is expected
    assert evaluate_condition(" !{{ dry_run }} ", {"dry_run": value}) is not expected


def test_equality_conditions_compare_strings() -> None:
    values = {"env": "prod", "empty": ""}
    assert evaluate_condition("{{env}} == prod", values)
    assert not evaluate_condition("{{env}} == staging", values)
    assert evaluate_condition("{{env}} != staging", values)
    assert evaluate_condition('{{env}} == "prod"', values)
    assert evaluate_condition("{{empty}} == ''", values)
    assert not evaluate_condition("{{env}} != 'prod'", values)


@pytest.mark.parametrize(
    "condition",
    [
        "dry_run",
        "not {{dry_run}}",
        "{{dry_run}} is true",
        "{{a}} == {{b}}",
        "{{a}} == two words",
        "{{a}} ==",
        "{{a}} = b",
        "!{{a}} == b",
        "{{a}} && {{b}}",
        "{{steps.analyze.output}}",
        "",
    ],
)
def test_any_other_condition_is_an_error(condition: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("is not one of '{{var}}', '!{{var}}'")):
        parse_condition(condition)


def test_a_condition_on_an_unknown_var_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown variable 'dry'"):
        evaluate_condition("!{{dry}}", {"dry_run": "true"})


def _formula(steps: list[dict[str, Any]]) -> DagFormula:
    return DagFormula.model_validate({"formula": "f", "steps": steps})


def _step(step_id: str, *needs: str) -> dict[str, Any]:
    return {"id": step_id, "title": step_id, "needs": list(needs)}


def test_topological_order_keeps_file_order_among_ready_steps() -> None:
    formula = _formula(
        [_step("report", "b", "a"), _step("b"), _step("a"), _step("c", "a"), _step("d")]
    )
    assert [s.id for s in topological_order(formula)] == ["b", "a", "report", "c", "d"]


def test_topological_order_refuses_a_cycle_or_an_unknown_need() -> None:
    cyclic = _formula([_step("a", "c"), _step("b", "a"), _step("c", "b"), _step("d")])
    with pytest.raises(ConfigError, match="steps a, b, c can never run"):
        topological_order(cyclic)
    assert find_cycles(cyclic) == [["a", "c", "b", "a"]]
    with pytest.raises(ConfigError, match="steps x can never run"):
        topological_order(_formula([_step("x", "missing")]))


def test_find_cycles_reports_each_cycle_once() -> None:
    formula = _formula(
        [_step("a", "b"), _step("b", "a"), _step("c", "d"), _step("d", "c"), _step("e", "a")]
    )
    assert find_cycles(formula) == [["a", "b", "a"], ["c", "d", "c"]]


@st.composite
def dags(draw: st.DrawFn) -> tuple[DagFormula, list[str]]:
    """A random DAG: a hidden rank order decides which needs are allowed (only on lower
    ranks), and the file lists the steps in an independent random order."""
    size = draw(st.integers(min_value=1, max_value=12))
    ranked = [f"s{i}" for i in range(size)]
    steps = []
    for rank, step_id in enumerate(ranked):
        needs = draw(st.lists(st.sampled_from(ranked[:rank]), unique=True)) if rank else []
        steps.append(_step(step_id, *needs))
    file_order = draw(st.permutations(steps))
    return _formula(list(file_order)), ranked


@given(dags())
def test_topological_order_respects_needs_for_any_dag(case: tuple[DagFormula, list[str]]) -> None:
    formula, _ = case
    order = topological_order(formula)
    assert sorted(s.id for s in order) == sorted(s.id for s in formula.steps)
    position = {step.id: index for index, step in enumerate(order)}
    for step in formula.steps:
        assert all(position[need] < position[step.id] for need in step.needs)
    assert find_cycles(formula) == []


@given(dags())
def test_a_file_already_in_dependency_order_is_kept_as_is(
    case: tuple[DagFormula, list[str]],
) -> None:
    formula, ranked = case
    by_id = {step.id: step for step in formula.steps}
    in_order = DagFormula(formula="f", steps=[by_id[step_id] for step_id in ranked])
    assert [s.id for s in topological_order(in_order)] == ranked


@given(dags(), st.data())
def test_a_need_pointing_back_makes_a_cycle(
    case: tuple[DagFormula, list[str]], data: st.DataObject
) -> None:
    formula, _ = case
    steps = {step.id: step for step in formula.steps}
    needing = [s for s in formula.steps if s.needs]
    assume(needing)
    step = data.draw(st.sampled_from(needing))
    need = steps[data.draw(st.sampled_from(step.needs))]
    looped = DagStep.model_validate(
        {"id": need.id, "title": need.title, "needs": [*need.needs, step.id]}
    )
    broken = DagFormula(
        formula="f", steps=[looped if s.id == need.id else s for s in formula.steps]
    )
    with pytest.raises(ConfigError, match="can never run"):
        topological_order(broken)
    assert find_cycles(broken)

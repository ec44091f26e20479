"""Branch names: ``sleeptime/<date>-<type>-<short id>``, the same for the same findings."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.github.branch import SHORT_ID_LENGTH, branch_name, short_id, with_short_id
from micro_gastown.report.changes import BRANCH_NAME, PRResult, PRStatus

DAY = dt.date(2026, 12, 3)
IDS = st.lists(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), min_size=1, max_size=6)


def test_the_documented_shape() -> None:
    name = branch_name(["slow-llm-classify"], "slow_llm", DAY)
    assert re.fullmatch(rf"sleeptime/2026-12-03-slow-llm-[0-9a-f]{{{SHORT_ID_LENGTH}}}", name)


@given(IDS, st.randoms())
def test_the_short_id_ignores_order_and_repeats(ids: list[str], random: object) -> None:
    shuffled = list(ids)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert short_id(ids) == short_id([*shuffled, *shuffled])
    assert branch_name(ids, "dead_path", DAY) == branch_name(shuffled, "dead_path", DAY)


def test_different_sets_get_different_ids() -> None:
    assert short_id(["a"]) != short_id(["a", "b"])
    assert short_id(["a", "b"]) != short_id(["ab"])


@given(IDS, st.text(max_size=80), st.dates(min_value=dt.date(1000, 1, 1)))
def test_every_name_is_a_valid_pr_result_branch(
    ids: list[str], pattern_type: str, day: dt.date
) -> None:
    name = branch_name(ids, pattern_type, day)
    assert re.fullmatch(BRANCH_NAME, name)
    assert "--" not in name
    PRResult(
        pr_url="https://github.com/acme/agents/pull/1",
        branch_name=name,
        commit_sha="a" * 40,
        files_changed=["x"],
        status=PRStatus.DRAFT,
    )


@pytest.mark.parametrize(
    ("pattern_type", "kind"),
    [
        ("failed_transition", "failed-transition"),
        ("Slow LLM!", "slow-llm"),
        ("", "change"),
        ("___", "change"),
        ("💥", "change"),
        ("a" * 29 + "_b", "a" * 29),  # cut at 30 characters, then no trailing '-'
    ],
)
def test_the_type_becomes_a_slug(pattern_type: str, kind: str) -> None:
    name = branch_name(["x"], pattern_type, DAY)
    assert name == f"sleeptime/2026-12-03-{kind}-{short_id(['x'])}"


def test_branches_of_the_same_findings_are_found_newest_first() -> None:
    ids = ["a", "b"]
    older = branch_name(ids, "slow_llm", dt.date(2026, 11, 30))
    newer = branch_name(ids, "slow_llm", dt.date(2026, 12, 2))
    other = branch_name(["a"], "slow_llm", DAY)
    branches = [older, other, newer, "feature/x", f"sleeptime/junk-{short_id(ids)}"]
    assert with_short_id(branches, ["b", "a"]) == [newer, older]

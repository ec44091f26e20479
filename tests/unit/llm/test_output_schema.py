"""Structured output as every backend checks it: which output schemas are refused before a
call, and the one format violations are listed in (for the model's repair and the user)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest

from micro_gastown.errors import LlmError
from micro_gastown.llm.base import LlmRequest, ToolSpec
from micro_gastown.llm.output_schema import (
    MAX_LISTED_ERRORS,
    listed,
    output_errors,
    output_validator,
    plain_json,
)

RANKING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ranked": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "severity": {"enum": ["critical", "warning", "info"]},
                },
                "required": ["id", "severity"],
            },
        }
    },
    "required": ["ranked"],
    "additionalProperties": False,
}
REQUEST = LlmRequest(system="", prompt="Rank.", model="haiku", output_schema=RANKING)


def errors_of(output: object, schema: Mapping[str, Any] = RANKING) -> list[str]:
    validator = output_validator(replace(REQUEST, output_schema=schema))
    assert validator is not None
    return output_errors(validator, output)


def test_a_request_without_an_output_schema_has_no_validator() -> None:
    assert output_validator(replace(REQUEST, output_schema=None)) is None


def test_valid_output_has_no_errors() -> None:
    assert errors_of({"ranked": [{"id": "a", "severity": "info"}]}) == []


def test_errors_are_json_paths_sorted_by_position() -> None:
    output = {
        "ranked": [{"id": "a", "severity": "info"}, {"id": 7, "severity": "urgent"}],
        "extra": 1,
    }
    assert errors_of(output) == [
        "$: Additional properties are not allowed ('extra' was unexpected)",
        "$.ranked[1].id: 7 is not of type 'string'",
        "$.ranked[1].severity: 'urgent' is not one of ['critical', 'warning', 'info']",
    ]


def test_output_that_is_not_an_object_says_what_it_got() -> None:
    assert errors_of(["a"]) == ["$: expected a JSON object, got list"]


def test_long_messages_are_cut_but_keep_their_path() -> None:
    [error] = errors_of({"ranked": "x" * 500})
    assert error.startswith("$.ranked: 'xxx")
    assert error.endswith("...")
    assert len(error) == len("$.ranked: ") + 200


def test_the_dialect_follows_dollar_schema() -> None:
    # prefixItems means nothing in draft-07; draft 2020-12 checks it
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"pair": {"prefixItems": [{"type": "string"}]}},
    }
    assert errors_of({"pair": [1]}, schema) == ["$.pair[0]: 1 is not of type 'string'"]
    draft_07 = {key: value for key, value in schema.items() if key != "$schema"}
    assert errors_of({"pair": [1]}, draft_07) == []


def test_mapping_schemas_and_outputs_are_read_as_json() -> None:
    frozen = MappingProxyType({**RANKING, "properties": MappingProxyType(RANKING["properties"])})
    output = MappingProxyType({"ranked": ({"id": "a", "severity": "info"},)})
    assert errors_of(output, frozen) == []


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (replace(REQUEST, output_schema={"type": "array"}), r"must describe a JSON object"),
        (
            replace(REQUEST, output_schema={"type": "object", "required": "ranked"}),
            r"^the output schema for 'output' is not valid JSON Schema draft-07: ",
        ),
        (
            replace(
                REQUEST,
                output_schema={
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "required": "ranked",
                },
            ),
            r"^the output schema for 'output' is not valid JSON Schema draft-07: ",
        ),
        (
            replace(
                REQUEST,
                output_schema={
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "minProperties": -1,
                },
            ),
            r"not valid JSON Schema \(https://json-schema\.org/draft/2020-12/schema\): ",
        ),
        (
            replace(REQUEST, tools=(ToolSpec("output", "Clash.", {"type": "object"}, str),)),
            r"the output tool name 'output' is also a read-only tool",
        ),
    ],
)
def test_unusable_output_schemas_are_refused(request_: LlmRequest, message: str) -> None:
    with pytest.raises(LlmError, match=message):
        output_validator(request_)


def test_the_listing_is_capped_and_says_how_many_were_left_out() -> None:
    errors = [f"$.e{i}: bad" for i in range(MAX_LISTED_ERRORS + 3)]
    lines = listed(errors).splitlines()
    assert lines[0] == "- $.e0: bad"
    assert len(lines) == MAX_LISTED_ERRORS + 1
    assert lines[-1] == "- ... and 3 more"
    assert listed(errors[:2]) == "- $.e0: bad\n- $.e1: bad"


def test_plain_json_turns_mappings_into_dicts_and_tuples_into_lists() -> None:
    value = MappingProxyType({"a": (1, MappingProxyType({2: "b"}))})
    assert plain_json(value) == {"a": [1, {"2": "b"}]}

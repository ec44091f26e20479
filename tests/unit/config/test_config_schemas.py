"""Output schemas: the generated ProposedChanges/PRResult files, and the checks every schema
under schemas/ gets (draft-07 meta-schema, local $refs that resolve)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from micro_gastown.config.schemas import load_schema
from micro_gastown.report.changes import ProposedChanges, PRResult
from micro_gastown.report.schema import MODELS, main, model_schema, render_schema

ROOT = Path(__file__).resolve().parents[3]

CHANGES: dict[str, Any] = {
    "changes": [
        {
            "path": "templates/summarize.jinja",
            "diff": "--- a/templates/summarize.jinja\n+++ b/templates/summarize.jinja\n"
            "@@ -1 +1 @@\n-a\n+b\n",
            "rationale": "p95 prompt is 9000 tokens; the history block repeats every turn",
            "lines_added": 1,
            "lines_removed": 1,
            "change_type": "template",
        }
    ],
    "patterns_addressed": ["token-bloat-summarize-1a2b"],
    "validation": {"build_success": True, "test_success": True},
    "expected_impact": {
        "metrics": [{"metric": "p95 prompt_tokens", "before": 9000, "after_estimate": 4000}],
        "confidence": "medium",
    },
    "rollback_instructions": "Revert the commit.",
}
PR: dict[str, Any] = {
    "pr_url": "https://github.com/acme/agent/pull/12",
    "branch_name": "sleeptime/2026-11-22-token-bloat",
    "commit_sha": "0123456789abcdef0123456789abcdef01234567",
    "files_changed": ["templates/summarize.jinja"],
    "status": "draft",
    "pr_number": 12,
}


@pytest.mark.parametrize("name", ["ProposedChanges", "PRResult"])
def test_committed_schema_equals_generated(name: str) -> None:
    """Run `make schemas` after changing the models in report/changes.py."""
    assert (ROOT / "schemas" / f"{name}.json").read_bytes() == render_schema(name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generated_schemas_are_draft07_with_defs(name: str) -> None:
    schema = model_schema(name)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"].endswith(f"/schemas/{name}.json")
    jsonschema.Draft7Validator.check_schema(schema)
    path = ROOT / "schemas" / f"{name}.json"
    assert load_schema(path) == (json.loads(path.read_text()), [])


def test_the_generator_writes_every_schema_into_a_directory(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "PRResult.json",
        "PatternReport.json",
        "ProposedChanges.json",
    ]
    assert main([str(tmp_path / "PRResult.json")]) == 0
    assert main([str(tmp_path / "Nope.json")]) == 2


def test_spec_fields_and_requiredness() -> None:
    changes = model_schema("ProposedChanges")
    assert set(changes["required"]) == {"changes", "patterns_addressed", "validation"}
    assert set(changes["properties"]) == {
        "changes",
        "patterns_addressed",
        "validation",
        "expected_impact",
        "rollback_instructions",
        # ours, optional: what refine refused and why, and whether it may be filed
        "status",
        "rejected",
        "metadata",
    }
    file_change = changes["$defs"]["FileChange"]
    assert set(file_change["required"]) == {"path", "diff", "rationale"}
    assert changes["$defs"]["ChangeType"]["enum"] == [
        "template",
        "schema",
        "graph",
        "handler",
        "config",
    ]
    assert set(changes["$defs"]["Validation"]["required"]) == {"build_success", "test_success"}
    pr = model_schema("PRResult")
    assert set(pr["required"]) == {
        "pr_url",
        "branch_name",
        "commit_sha",
        "files_changed",
        "status",
    }
    assert pr["properties"]["branch_name"]["pattern"] == r"^sleeptime/\d{4}-\d{2}-\d{2}-[a-z0-9-]+$"


def test_documents_validate_against_schema_and_model_alike() -> None:
    jsonschema.Draft7Validator(model_schema("ProposedChanges")).validate(CHANGES)
    jsonschema.Draft7Validator(model_schema("PRResult")).validate(PR)
    assert ProposedChanges.model_validate(CHANGES).changes[0].change_type == "template"
    assert PRResult.model_validate(PR).status == "draft"


@pytest.mark.parametrize(
    ("name", "document", "field", "value"),
    [
        ("PRResult", PR, "branch_name", "feature/x"),
        ("PRResult", PR, "commit_sha", "abc123"),
        ("PRResult", PR, "status", "open"),
        ("ProposedChanges", CHANGES, "patterns_addressed", []),
        ("ProposedChanges", CHANGES, "patterns_addressed", ["Not An Id"]),
        ("ProposedChanges", CHANGES, "changes", []),
    ],
)
def test_schema_rejects_what_spec_forbids(
    name: str, document: dict[str, Any], field: str, value: Any
) -> None:
    broken = {**document, field: value}
    validator = jsonschema.Draft7Validator(model_schema(name))
    assert not validator.is_valid(broken)


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "Thing.json"
    path.write_text(json.dumps(document))
    return path


DRAFT = "http://json-schema.org/draft-07/schema#"


def test_a_sound_schema_loads(tmp_path: Path) -> None:
    document = {
        "$schema": DRAFT,
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": {"type": "string"}},
    }
    assert load_schema(_write(tmp_path, document)) == (document, [])


@pytest.mark.parametrize(
    ("document", "where", "message"),
    [
        ({"$schema": DRAFT, "type": "objekt"}, "type", "is not valid under any of the given"),
        ({"type": "object"}, "$schema", "should be 'http://json-schema.org/draft-07/schema#'"),
        (
            {"$schema": DRAFT, "properties": {"a": {"$ref": "#/$defs/Missing"}}, "$defs": {}},
            "properties.a.$ref",
            "'#/$defs/Missing' does not resolve: no 'Missing'",
        ),
        (
            {"$schema": DRAFT, "items": {"$ref": "https://example.com/other.json"}},
            "items.$ref",
            "points outside this file",
        ),
        (["not", "an", "object"], "", "a schema must be a JSON object"),
    ],
)
def test_a_broken_schema_is_a_problem_naming_where(
    tmp_path: Path, document: Any, where: str, message: str
) -> None:
    loaded, problems = load_schema(_write(tmp_path, document))
    assert loaded is None
    assert len(problems) == 1, problems
    assert problems[0].where == where
    assert message in problems[0].message


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "Bad.json"
    path.write_text('{\n  "a": ,\n}')
    _, problems = load_schema(path)
    assert [str(p) for p in problems] == [
        f"{path}: line 2, column 8: invalid JSON: Expecting value"
    ]

"""The coded reason a run records when the optional LLM review could not run."""

from __future__ import annotations

import pytest

from micro_gastown.analysis.review import skip_code
from micro_gastown.errors import (
    BudgetExceeded,
    LiveCallForbidden,
    LlmAuthError,
    LlmError,
    LlmOutputError,
    LlmRefusalError,
    LlmRequestError,
    LlmTimeoutError,
    LlmUnavailableError,
    ModelPolicyError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (LlmTimeoutError("no answer"), "llm_timeout"),  # not its base's code
        (LlmUnavailableError("overloaded"), "llm_unavailable"),
        (LlmAuthError("no key"), "llm_auth"),
        (LlmRequestError("too long"), "llm_request_rejected"),
        (LlmRefusalError("refused"), "llm_refusal"),
        (LlmOutputError("cut off"), "llm_output_invalid"),
        (ModelPolicyError("not haiku"), "model_policy"),
        (LiveCallForbidden("tests"), "live_call_forbidden"),
        (BudgetExceeded("budget"), "budget_exceeded"),
        (LlmError("claude exited with status 1"), "llm_error"),
    ],
)
def test_each_kind_of_failure_has_its_own_stable_code(error: LlmError, code: str) -> None:
    assert skip_code(error) == code

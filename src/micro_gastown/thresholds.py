"""The Log Analyzer's thresholds: the ``[thresholds]`` table of a log-analyzer polecat.

The first five names are upstream Gas Town's; the rest are ours, for the detectors upstream
left unspecified. One model serves the polecat file (``config.polecat``), the detectors and
the application layer's settings, so the file ``validate`` checks and the values ``analyze``
uses cannot disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from micro_gastown.errors import ConfigError


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_occurrences: int = Field(3, ge=1, description="Fewest occurrences that make a pattern")
    latency_warning_ms: int = Field(2000, ge=0, description="slow_llm: p95 above → warning")
    latency_critical_ms: int = Field(5000, ge=0, description="slow_llm: p95 above → critical")
    error_rate_warning: float = Field(0.05, ge=0, le=1)
    error_rate_critical: float = Field(0.15, ge=0, le=1)
    prompt_tokens_p95_warning: int = Field(8000, ge=1, description="token_bloat: p95 prompt")
    prompt_tokens_p95_critical: int = Field(16000, ge=1)
    prompt_completion_ratio_warning: float = Field(
        40.0, gt=0, description="token_bloat: median prompt/completion ratio"
    )
    repeated_error_warning: int = Field(10, ge=1, description="repeated_error: count → warning")
    repeated_error_critical: int = Field(100, ge=1, description="repeated_error: count → critical")
    dead_path_min_visits: int = Field(
        100, ge=1, description="dead_path: source visits that make a never-taken edge a warning"
    )
    underused_share: float = Field(
        0.01, ge=0, le=1, description="dead_path: an edge below this share of exits is underused"
    )
    underused_min_exits: int = Field(100, ge=1, description="exits needed to judge a share")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        pairs = [
            ("latency_warning_ms", "latency_critical_ms"),
            ("error_rate_warning", "error_rate_critical"),
            ("prompt_tokens_p95_warning", "prompt_tokens_p95_critical"),
            ("repeated_error_warning", "repeated_error_critical"),
        ]
        for low, high in pairs:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self

    def with_overrides(self, overrides: dict[str, Any]) -> Thresholds:
        """Apply CLI overrides (``None`` values are ignored), re-validating the result."""
        data = self.model_dump()
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return Thresholds.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"threshold flags: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "thresholds"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)

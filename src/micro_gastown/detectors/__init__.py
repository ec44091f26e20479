"""One detector per pattern kind; ``all_detectors`` is the order they run and report in."""

from __future__ import annotations

from collections.abc import Collection

from micro_gastown.detectors.base import Detector, DetectorContext, Finding, Traffic
from micro_gastown.detectors.dead_path import DeadPathDetector
from micro_gastown.detectors.effect_failure import EffectFailureDetector
from micro_gastown.detectors.failed_transition import FailedTransitionDetector
from micro_gastown.detectors.repeated_error import RepeatedErrorDetector
from micro_gastown.detectors.slow_llm import SlowLlmDetector
from micro_gastown.detectors.token_bloat import TokenBloatDetector

DETECTOR_CLASSES: tuple[type[Detector], ...] = (
    FailedTransitionDetector,
    RepeatedErrorDetector,
    SlowLlmDetector,
    TokenBloatDetector,
    EffectFailureDetector,
    DeadPathDetector,
)


DETECTOR_NAMES: tuple[str, ...] = tuple(cls.kind.value for cls in DETECTOR_CLASSES)


def all_detectors(context: DetectorContext, only: Collection[str] | None = None) -> list[Detector]:
    """The detectors, in report order; ``only`` names a subset (see ``DETECTOR_NAMES``)."""
    return [cls(context) for cls in DETECTOR_CLASSES if only is None or cls.kind.value in only]


__all__ = [
    "DETECTOR_CLASSES",
    "DETECTOR_NAMES",
    "Detector",
    "DetectorContext",
    "Finding",
    "Traffic",
    "all_detectors",
]

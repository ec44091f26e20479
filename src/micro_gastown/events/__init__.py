"""ExoMonad events: typed models, tolerant parsing, and attribution to graph nodes."""

from micro_gastown.events.attribution import Attributor, ScopeState
from micro_gastown.events.model import (
    EffectExecution,
    ErrorEvent,
    Event,
    EventType,
    GraphTransition,
    LlmCall,
    UserAction,
)
from micro_gastown.events.parse import parse_line, scope_of
from micro_gastown.events.skips import SkipCounter, SkipReason

__all__ = [
    "Attributor",
    "EffectExecution",
    "ErrorEvent",
    "Event",
    "EventType",
    "GraphTransition",
    "LlmCall",
    "ScopeState",
    "SkipCounter",
    "SkipReason",
    "UserAction",
    "parse_line",
    "scope_of",
]

"""Group repeated messages into templates: masking first, then Drain (drain3).

`TemplateMiner` is the entry point; `Masker` holds the masking rules it applies first.
"""

from micro_gastown.clustering.masking import WILDCARD, Masker, MaskRule, to_wildcards
from micro_gastown.clustering.miner import (
    MAX_CLUSTERED_CHARS,
    MAX_CLUSTERED_TOKENS,
    MAX_TEMPLATES,
    OVERFLOW_ID,
    OVERFLOW_TEXT,
    Template,
    TemplateMiner,
    clustered_part,
)

__all__ = [
    "MAX_CLUSTERED_CHARS",
    "MAX_CLUSTERED_TOKENS",
    "MAX_TEMPLATES",
    "OVERFLOW_ID",
    "OVERFLOW_TEXT",
    "WILDCARD",
    "MaskRule",
    "Masker",
    "Template",
    "TemplateMiner",
    "clustered_part",
    "to_wildcards",
]

"""Group repeated messages into templates: masking first, then Drain (drain3).

`TemplateMiner` is the entry point; `Masker` holds the masking rules it applies first.
"""

from micro_gastown.clustering.masking import WILDCARD, Masker, MaskRule, to_wildcards
from micro_gastown.clustering.miner import Template, TemplateMiner

__all__ = ["WILDCARD", "MaskRule", "Masker", "Template", "TemplateMiner", "to_wildcards"]

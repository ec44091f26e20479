"""Cluster error messages into templates with Drain (drain3), behind a small typed API.

Masking (`micro_gastown.clustering.masking`) runs first and Drain clusters the masked text,
the split Drain3 itself uses. drain3 is configured here in code with no persistence, no
profiling and no drain3.ini: its constructor would otherwise look for that file and log a
warning when it is missing.

Logs repeat themselves, so two caches sit in front of Drain: the exact message, then the
masked message, each mapped to the cluster it went to the first time. A repeated message
costs a dict lookup; only a message whose masked form is new reaches the masker and Drain.
Skipping Drain for a repeat changes nothing: a message already added matches its cluster's
template on every non-wildcard token, so adding it again would not generalise the template.

Only the start of a message is masked and clustered: its first ``MAX_CLUSTERED_TOKENS``
whitespace-separated tokens, and at most ``MAX_CLUSTERED_CHARS`` characters of them. Drain
keeps every token of a cluster's template and masking copies the text once per rule, so a
15 MB message (a dumped payload) would cost hundreds of MB, while its start names the error
as well as the rest would. The cut counts tokens, not characters, because Drain only
compares messages with the same number of tokens: messages of one template whose variable
parts differ in length keep the same count. A cut message ends in a ``<*>`` wildcard, so
its template (and the anchored LogQL regex made from it) still matches the whole message.
The miner counts the messages it clipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from drain3 import TemplateMiner as Drain3Miner
from drain3.template_miner_config import TemplateMinerConfig

from micro_gastown.clustering.masking import WILDCARD, Masker

__all__ = [
    "MAX_CLUSTERED_CHARS",
    "MAX_CLUSTERED_TOKENS",
    "MAX_TEMPLATES",
    "OVERFLOW_ID",
    "OVERFLOW_TEXT",
    "Template",
    "TemplateMiner",
    "clustered_part",
]

# Drain parameters, one generic configuration measured on the labelled multi-format set
# (micro_gastown.testing.template_accuracy, bench/templates.py): messages join a cluster
# when >= 50% of their tokens match its template, and the prefix tree routes on the token
# count alone (depth 3). Drain's defaults (0.4, depth 4: the first token routes too) split
# a template whose first token varies (a program or module name, a host) and merge
# distinct messages that share their variable parts; they scored 0.884 there, this 0.939.
SIMILARITY_THRESHOLD: Final = 0.5
TREE_DEPTH: Final = 3
MAX_CHILDREN: Final = 100

# Caches stop growing past this many entries (memory stays bounded on endless unique
# messages; later messages just take the slower path). Longer messages are not cached.
_MAX_CACHED: Final = 1_000_000
_MAX_CACHED_LENGTH: Final = 4096

MAX_TEMPLATES: Final = 2_000
"""Clusters one miner makes. Drain compares a new message with every cluster of its token
count, so distinct messages that never repeat (hostile or random text) make mining
quadratic: 4,000 of them took 11 s and 20,000 about five minutes. Past this many clusters
a message whose masked form was not seen before is counted as :data:`OVERFLOW_ID` instead,
even one Drain would have put in an existing cluster (an agent graph's errors make tens or
hundreds of templates; the report says when this happens): 20,000 such messages then
take 4 s, 100,000 take 4.5 s (measured 2026-12-03)."""
OVERFLOW_ID: Final = 0
"""The id of the messages past :data:`MAX_TEMPLATES` (Drain's own ids start at 1)."""
OVERFLOW_TEXT: Final = "(an error message past the template limit, not grouped)"

MAX_CLUSTERED_TOKENS: Final = 256
"""The whitespace-separated tokens of a message that are clustered; later ones are ignored."""
MAX_CLUSTERED_CHARS: Final = 16_384
"""The most characters of a message clustered, however few tokens they make."""

# Matches a message with more than MAX_CLUSTERED_TOKENS tokens, up to the first character
# of the one after them. Possessive quantifiers: linear, without backtracking.
_BEYOND_TOKENS: Final = re.compile(rf"\s*+(?:\S++\s++){{{MAX_CLUSTERED_TOKENS}}}\S")


def clustered_part(message: str) -> str:
    """What of ``message`` is clustered: all of it (the very same object), or its start
    followed by a ``<*>`` standing for the rest (see the module)."""
    if len(message) <= 2 * MAX_CLUSTERED_TOKENS:  # too short for one token more
        return message
    head = message[:MAX_CLUSTERED_CHARS]
    beyond = _BEYOND_TOKENS.match(head)
    if beyond is not None:  # the rest starts a token of its own
        return head[: beyond.end() - 1] + WILDCARD
    if len(message) <= MAX_CLUSTERED_CHARS:
        return message
    return head + WILDCARD  # glued on: the cut may fall inside a token


@dataclass(frozen=True, slots=True)
class Template:
    """One cluster: its id, its current template text (variables as ``<*>``), its size."""

    template_id: int
    text: str
    count: int


def _drain_config() -> TemplateMinerConfig:
    config = TemplateMinerConfig()
    config.drain_sim_th = SIMILARITY_THRESHOLD
    config.drain_depth = TREE_DEPTH
    config.drain_max_children = MAX_CHILDREN
    config.drain_max_clusters = None  # never evict: ids must stay valid for the whole run
    config.drain_extra_delimiters = []
    config.parametrize_numeric_tokens = True
    config.masking_instructions = []  # masking is ours, done before Drain sees the text
    config.profiling_enabled = False
    return config


class TemplateMiner:
    """Assigns each message a cluster id; the cluster's template generalises as it grows.

    Ids are 1-based in order of first appearance and stable for the life of the miner. Same
    input in the same order gives the same ids and templates (Drain is deterministic).
    """

    def __init__(self, masker: Masker | None = None, *, max_templates: int | None = None):
        self._masker = masker or Masker()
        self._drain = Drain3Miner(persistence_handler=None, config=_drain_config())
        self._by_message: dict[str, int] = {}
        self._by_masked: dict[str, int] = {}
        self._counts: list[int] = [0]  # indexed by cluster id; [0] counts OVERFLOW_ID
        self.max_templates = MAX_TEMPLATES if max_templates is None else max_templates
        self.clipped = 0
        """Messages longer than the clustered part (see the module), clustered on it."""

    def add(self, message: str) -> int:
        """Cluster ``message`` (its clustered part) and return its cluster id."""
        clustered = clustered_part(message)
        if clustered is not message:
            message = clustered
            self.clipped += 1
        cluster_id = self._by_message.get(message)
        if cluster_id is None:
            masked = self._masker.mask(message)
            cluster_id = self._by_masked.get(masked)
            if cluster_id is None:
                if len(self) >= self.max_templates:
                    self._counts[OVERFLOW_ID] += 1  # not remembered: the caches stay ours
                    return OVERFLOW_ID
                cluster_id = int(self._drain.add_log_message(masked)["cluster_id"])
                _remember(self._by_masked, masked, cluster_id)
            _remember(self._by_message, message, cluster_id)
        if cluster_id == len(self._counts):
            self._counts.append(1)
        else:
            self._counts[cluster_id] += 1
        return cluster_id

    def template(self, template_id: int) -> str:
        """The current template of cluster ``template_id``, variables written ``<*>``.

        Raises KeyError for an id this miner never returned.
        """
        if template_id == OVERFLOW_ID and self._counts[OVERFLOW_ID]:
            return OVERFLOW_TEXT
        cluster = self._drain.drain.id_to_cluster.get(template_id)
        if cluster is None:
            raise KeyError(template_id)
        return self._masker.to_wildcards(cluster.get_template())

    def templates(self) -> list[Template]:
        """Every cluster, most frequent first, ties by id."""
        found = [
            Template(cluster_id, self.template(cluster_id), count)
            for cluster_id, count in enumerate(self._counts)
            if count and cluster_id != OVERFLOW_ID
        ]
        return sorted(found, key=lambda t: (-t.count, t.template_id))

    def __len__(self) -> int:
        """Number of clusters so far."""
        return len(self._counts) - 1

    @property
    def overflowed(self) -> int:
        """Messages counted as :data:`OVERFLOW_ID`: past the template limit, not grouped."""
        return self._counts[OVERFLOW_ID]


def _remember(cache: dict[str, int], key: str, cluster_id: int) -> None:
    if len(cache) < _MAX_CACHED and len(key) <= _MAX_CACHED_LENGTH:
        cache[key] = cluster_id

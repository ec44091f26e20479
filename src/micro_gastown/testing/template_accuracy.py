"""Grouping accuracy of the template miner on the labelled multi-format set (issue 14).

Why: ``repeated_error`` is only as good as its templates, and production errors come from
systems whose formats we never tuned for. The set (``tests/data/templates/``, one JSONL per
format, ``{"line": ..., "template": ...}``) gives every line its true template; this module
mines each format with a fresh `TemplateMiner` and scores it the way Loghub does.

Grouping accuracy: a line is right when the set of lines sharing its predicted template
equals the set of lines sharing its true one. Lines are grouped by their cluster's final
template text, as ``repeated_error`` reports them (two clusters Drain generalised to the same
text are one finding). The headline is the overall accuracy, right lines over all lines; the
mean of the per-format accuracies is printed beside it (Loghub's tables average datasets).

Shared by ``bench/templates.py`` (``make bench``) and the floor test.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from micro_gastown.clustering import TemplateMiner

__all__ = [
    "DEFAULT_SET",
    "FormatScore",
    "LabelledLine",
    "SetScore",
    "correct_lines",
    "load_set",
    "score_format",
    "score_set",
]

DEFAULT_SET = Path(__file__).resolve().parents[3] / "tests" / "data" / "templates"
"""The set in a source checkout (it is test data, not shipped in the wheel)."""


@dataclass(frozen=True, slots=True)
class LabelledLine:
    line: str
    template: str


@dataclass(frozen=True, slots=True)
class FormatScore:
    name: str
    lines: int
    correct: int
    true_templates: int
    predicted_templates: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.lines if self.lines else 1.0


@dataclass(frozen=True, slots=True)
class SetScore:
    formats: tuple[FormatScore, ...]
    mining_s: float
    """Wall time of masking and mining every line (fresh miners, no caches warm)."""

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.formats)

    @property
    def overall(self) -> float:
        """The headline: right lines over all lines."""
        return sum(f.correct for f in self.formats) / self.lines if self.lines else 1.0

    @property
    def mean_of_formats(self) -> float:
        if not self.formats:
            return 1.0
        return sum(f.accuracy for f in self.formats) / len(self.formats)


def load_set(directory: Path = DEFAULT_SET) -> dict[str, list[LabelledLine]]:
    """Every ``*.jsonl`` of ``directory`` by file stem, lines in file order."""
    found: dict[str, list[LabelledLine]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as rows:
            found[path.stem] = [
                LabelledLine(row["line"], row["template"])
                for row in (json.loads(text) for text in rows if text.strip())
            ]
    return found


def correct_lines(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> int:
    """Lines whose predicted group is exactly their true group (Loghub's grouping accuracy,
    as a count). A predicted group is right, all its lines at once, when every line in it
    has the same true label and no line outside it has that label."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must label the same lines")
    true_sizes = Counter(truth)
    labels_in: dict[Hashable, set[Hashable]] = {}
    sizes: Counter[Hashable] = Counter()
    for group, label in zip(predicted, truth, strict=True):
        labels_in.setdefault(group, set()).add(label)
        sizes[group] += 1
    correct = 0
    for group, labels in labels_in.items():
        if len(labels) == 1 and true_sizes[next(iter(labels))] == sizes[group]:
            correct += sizes[group]
    return correct


def mine(lines: Sequence[str]) -> list[str]:
    """Each line's final template text, from one fresh miner over all of them in order."""
    miner = TemplateMiner()
    ids = [miner.add(line) for line in lines]
    texts = {cluster_id: miner.template(cluster_id) for cluster_id in set(ids)}
    return [texts[cluster_id] for cluster_id in ids]


def score_format(name: str, rows: Sequence[LabelledLine]) -> FormatScore:
    predicted = mine([row.line for row in rows])
    truth = [row.template for row in rows]
    return FormatScore(
        name=name,
        lines=len(rows),
        correct=correct_lines(predicted, truth),
        true_templates=len(set(truth)),
        predicted_templates=len(set(predicted)),
    )


def score_set(labelled: dict[str, list[LabelledLine]]) -> SetScore:
    started = time.perf_counter()
    scores = tuple(score_format(name, rows) for name, rows in labelled.items())
    return SetScore(scores, time.perf_counter() - started)

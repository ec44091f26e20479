"""Runs a LogQL pipeline over one entry: line filters, parsers, label filters, unwrap.

Semantics follow Loki's ``pkg/logql/log``: parser stages add labels (so ``| json`` changes
how results group into streams), a line that fails to parse is kept with
``__error__="JSONParserErr"``, keys that clash with stream labels get ``_extracted``, and
numeric label filters skip lines that already carry an error.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .logql.syntax import (
    BinaryLabelFilter,
    JsonStage,
    LabelFilter,
    LabelFilterStage,
    LineFilter,
    LogfmtStage,
    NumericLabelFilter,
    NumOp,
    Stage,
    StringLabelFilter,
    UnwrapStage,
)

ERROR_LABEL = "__error__"
JSON_ERROR = "JSONParserErr"
LOGFMT_ERROR = "LogfmtParserErr"
LABEL_FILTER_ERROR = "LabelFilterErr"
SAMPLE_ERROR = "SampleExtractionErr"

_INVALID_KEY_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


@dataclass
class Entry:
    """The labels of one entry while it moves through the pipeline."""

    base: Mapping[str, str]
    extracted: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def get(self, name: str) -> str | None:
        """A label's value, None when absent (``__error__`` included)."""
        if name == ERROR_LABEL:
            return self.error or None
        if name in self.extracted:
            return self.extracted[name]
        return self.base.get(name)

    def set(self, name: str, value: str) -> None:
        """Add a parsed label, renaming it when it clashes with a stream label."""
        if name in self.base:
            name += "_extracted"
        self.extracted[name] = value

    def labels(self) -> dict[str, str]:
        """Stream labels + extracted labels + ``__error__``, empty values dropped."""
        merged = dict(self.base)
        merged.update(self.extracted)
        if self.error:
            merged[ERROR_LABEL] = self.error
        return {k: v for k, v in merged.items() if v != ""}


@functools.lru_cache(maxsize=4096)  # keys repeat on every line of a stream
def _sanitize(key: str, is_prefix: bool) -> str:
    key = key.strip()
    if key and is_prefix and key[0].isdigit():
        key = "_" + key
    return _INVALID_KEY_CHARS.sub("_", key)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _flatten(entry: Entry, obj: dict[str, Any], prefix: str) -> None:
    for raw_key, value in obj.items():
        key = _sanitize(raw_key, not prefix)
        if not key:
            continue
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(entry, value, name)
        elif isinstance(value, list):
            continue  # Loki's json parser skips arrays
        elif isinstance(value, bool):
            entry.set(name, "true" if value else "false")
        elif value is None:
            entry.set(name, "")
        else:
            entry.set(name, str(value))


def parse_json(line: str, entry: Entry) -> None:
    """``| json``: flatten the object into labels; numbers keep their literal text."""
    try:
        obj = json.loads(line, parse_int=str, parse_float=str, parse_constant=_reject_constant)
    except ValueError:
        entry.error = entry.error or JSON_ERROR
        return
    if not isinstance(obj, dict):
        entry.error = entry.error or JSON_ERROR
        return
    _flatten(entry, obj, "")


def parse_logfmt(line: str, entry: Entry) -> None:
    """``| logfmt``: ``key=value`` pairs, quoted values unescaped."""
    pairs = _LOGFMT_PAIR.findall(line)
    if line.strip() and not pairs:
        entry.error = entry.error or LOGFMT_ERROR
        return
    for key, value in pairs:
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        entry.set(_sanitize(key, True), value)


def _compare(op: NumOp, left: float, right: float) -> bool:
    if op is NumOp.EQ:
        return left == right
    if op is NumOp.NEQ:
        return left != right
    if op is NumOp.GT:
        return left > right
    if op is NumOp.GTE:
        return left >= right
    if op is NumOp.LT:
        return left < right
    return left <= right


def label_filter_keeps(expr: LabelFilter, entry: Entry) -> bool:
    """Evaluate a label filter expression against ``entry`` (may set ``__error__``)."""
    if isinstance(expr, StringLabelFilter):
        return expr.matcher.matches(entry.get(expr.matcher.name) or "")
    if isinstance(expr, NumericLabelFilter):
        if entry.error:
            return True  # only string matchers may filter errored lines out
        raw = entry.get(expr.name)
        if raw is None:
            return False
        try:
            value = float(raw)
        except ValueError:
            entry.error = LABEL_FILTER_ERROR
            return True
        return _compare(expr.op, value, expr.value)
    assert isinstance(expr, BinaryLabelFilter)
    if expr.is_and:
        return label_filter_keeps(expr.left, entry) and label_filter_keeps(expr.right, entry)
    return label_filter_keeps(expr.left, entry) or label_filter_keeps(expr.right, entry)


class Pipeline:
    """A compiled pipeline; ``run`` returns the entry's labels or None when filtered."""

    def __init__(self, stages: tuple[Stage, ...]) -> None:
        self.stages = stages
        self.trivial = not stages

    def run(self, line: str, base: Mapping[str, str]) -> tuple[Entry, float | None] | None:
        """Apply every stage; the float is the unwrapped sample value, if any."""
        entry = Entry(base)
        value: float | None = None
        for stage in self.stages:
            if isinstance(stage, LineFilter):
                if not stage.keeps(line):
                    return None
            elif isinstance(stage, JsonStage):
                parse_json(line, entry)
            elif isinstance(stage, LogfmtStage):
                parse_logfmt(line, entry)
            elif isinstance(stage, LabelFilterStage):
                if not label_filter_keeps(stage.expr, entry):
                    return None
            elif isinstance(stage, UnwrapStage):
                value = self._unwrap(stage.label, entry)
                if value is None:
                    return None  # Loki skips lines without the label (grafana/loki#6713)
        return entry, value

    @staticmethod
    def _unwrap(label: str, entry: Entry) -> float | None:
        raw = entry.get(label)
        entry.extracted.pop(label, None)
        if label in entry.base:
            entry.base = {k: v for k, v in entry.base.items() if k != label}
        if not raw:
            return None
        try:
            return float(raw)
        except ValueError:
            entry.error = entry.error or SAMPLE_ERROR
            return 0.0

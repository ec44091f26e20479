"""The pull request's words: title, summary, why each file changes, expected impact.

The pr-filer polecat writes them in one model call (:func:`write_prose`); code owns every
fact of the PR (tables, figures, links, samples, metadata: :mod:`.body`) and checks that
the words invent no figure (:func:`invented_figures`): a sentence holding a number the
facts sent to the model do not give is dropped, and a title holding one is replaced by
code's. An answer out of shape goes back once with its problems; a second one, or a
refusal, falls back to the words code writes alone (:func:`prose_from_code`), which is
also what a run without a model files, so the PR is the same PR either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from micro_gastown.config.polecat import Polecat
from micro_gastown.errors import LlmOutputError, LlmRefusalError
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.github.prose_prompt import (
    MAX_TITLE_CHARS,
    OUTPUT_NAME,
    PROSE_SCHEMA,
    TITLE_PREFIX,
    ProseAnswer,
    answer_problems,
    full_title,
    parse_answer,
    prose_facts,
    render_prompt,
    repair_prompt,
    sorted_files,
)
from micro_gastown.llm.base import CallRecord, LlmBackend, LlmRequest, Meter
from micro_gastown.report.changes import ProposedChanges
from micro_gastown.report.model import Pattern, PatternType

__all__ = [
    "WRITTEN_BY_CODE",
    "WRITTEN_BY_FALLBACK",
    "Prose",
    "ProseOutcome",
    "invented_figures",
    "prose_from_code",
    "prose_request",
    "write_prose",
]

WRITTEN_BY_CODE: Final = "code (LLM off)"
WRITTEN_BY_FALLBACK: Final = "code (the pr-filer's answer was unusable)"


@dataclass(frozen=True, slots=True)
class Prose:
    """The words of one pull request; the commit message's subject is ``title``."""

    title: str
    """``sleeptime: <what changes>``, at most 72 characters."""
    summary: str
    """One paragraph: what the change does and which finding it addresses."""
    changes: Mapping[str, str]
    """Path -> why this file changes (one or two sentences)."""
    impact: str
    """The expected impact in words."""
    written_by: str
    """``pr-filer (claude-haiku-4-5)`` or ``code (LLM off)``."""


@dataclass(frozen=True, slots=True)
class ProseOutcome:
    """What :func:`write_prose` made: the prose, the invented figures whose sentences were
    dropped, and whether (and why) it fell back to code's words."""

    prose: Prose
    figures_removed: tuple[str, ...]
    fell_back: bool
    reason: str | None
    repair_rounds: int = 0


# --------------------------------------------------------------------------------------
# The words code writes alone
# --------------------------------------------------------------------------------------

_KINDS: Final[Mapping[PatternType, str]] = {
    PatternType.SLOW_LLM: "slow LLM calls",
    PatternType.FAILED_TRANSITION: "a failing transition",
    PatternType.REPEATED_ERROR: "a repeated error",
    PatternType.DEAD_PATH: "a dead path",
    PatternType.TOKEN_BLOAT: "token bloat",
    PatternType.EFFECT_FAILURE: "a failing effect",
}
_CLAUSE_BREAK = re.compile(r",|;|:| to | so | by | because ")


def prose_from_code(
    changes: ProposedChanges | None, patterns: Sequence[Pattern], files: Sequence[str]
) -> Prose:
    """The PR's words from the proposal alone: its summary, each file's rationale, its
    expected impact and the findings' types and ids. Deterministic; a bare diff
    (``changes`` None) still gets words that say what is known and that the rest is not."""
    paths = sorted_files(files)
    ids = sorted(set(changes.patterns_addressed) if changes else {p.id for p in patterns})
    summary_line = _summary_line(changes)
    findings = _findings_phrase(ids, patterns)
    edits = f"This change edits {_count(len(paths), 'file')} ({', '.join(paths)})"
    if changes is None:
        summary = (
            f"{edits} for {findings}. It was filed from a bare diff: no rationale, "
            "validation or expected impact came with it."
        )
    elif summary_line:
        summary = f"{summary_line}. It addresses {findings}."
    else:
        summary = f"{edits} for {findings}."
    rationales = {c.path: _one_line(c.rationale) for c in changes.changes} if changes else {}
    missing = "No rationale came with the diff." if changes is None else "No rationale was given."
    return Prose(
        title=_code_title(summary_line, len(paths), ids),
        summary=summary,
        changes={path: rationales.get(path) or missing for path in paths},
        impact=_impact_text(changes),
        written_by=WRITTEN_BY_CODE,
    )


def _one_line(text: str | None) -> str:
    return " ".join(neutralize_line(text or "").split())


def _summary_line(changes: ProposedChanges | None) -> str:
    if changes is None or changes.metadata is None:
        return ""
    return _one_line(changes.metadata.summary).rstrip(".").strip()


def _code_title(summary: str, file_count: int, ids: Sequence[str]) -> str:
    if summary:
        lowered = summary[0].lower() + summary[1:] if summary[1:2].islower() else summary
        for candidate in (lowered, _CLAUSE_BREAK.split(lowered, maxsplit=1)[0].strip()):
            if len(candidate.split()) >= 3 and len(TITLE_PREFIX + candidate) <= MAX_TITLE_CHARS:
                return TITLE_PREFIX + candidate
    generic = f"change {_count(file_count, 'file')} for {', '.join(ids) or 'no finding'}"
    return _fit_title(TITLE_PREFIX + generic)


def _fit_title(title: str) -> str:
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[: MAX_TITLE_CHARS - 1]
    boundary = max(cut.rfind(" "), cut.rfind("-"))  # a long pattern id is cut at a hyphen
    if boundary > len(TITLE_PREFIX) + 10:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:-") + "…"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _findings_phrase(ids: Sequence[str], patterns: Sequence[Pattern]) -> str:
    known = {p.id: p for p in patterns}
    parts = []
    for pattern_id in ids:
        pattern = known.get(pattern_id)
        if pattern is None:
            parts.append(f"the finding {pattern_id}")
            continue
        parts.append(
            f"{_KINDS.get(pattern.type, pattern.type.value)} ({pattern_id}: "
            f"{pattern.severity.value}, {pattern.occurrences:,} occurrences)"
        )
    if not parts:
        return "no finding named"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _impact_text(changes: ProposedChanges | None) -> str:
    if changes is None:
        return "No expected impact came with the diff."
    impact = changes.expected_impact
    if impact is None:
        return "The proposal states no expected impact."
    sentences = []
    for metric in impact.metrics:
        sentence = (
            f"{_one_line(metric.metric)} should go from {_figure(metric.before)} to about "
            f"{_figure(metric.after_estimate)}"
        )
        if metric.improvement_percent is not None:
            sentence += f" ({_figure(metric.improvement_percent)}% better)"
        sentences.append(sentence + ".")
    if not sentences and impact.notes:
        sentences.append(_one_line(impact.notes).rstrip(".") + ".")
    sentences.append(f"Confidence: {impact.confidence.value}.")
    return " ".join(sentences)


def _figure(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


# --------------------------------------------------------------------------------------
# The words the model writes
# --------------------------------------------------------------------------------------


class _Unmetered:
    """The meter of a call nobody budgets (tests, ``meter=None``)."""

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        """No budget: every call may go."""

    def after(self, record: CallRecord) -> None:
        """Nothing kept."""

    def remaining_usd(self) -> None:
        return None


def prose_request(prompt: str, polecat: Polecat) -> LlmRequest:
    """The request for ``prompt`` (replay files are keyed on it: build it only here)."""
    return LlmRequest(
        system=polecat.system_prompt,
        prompt=prompt,
        model=polecat.model.name,
        max_tokens=polecat.model.max_tokens,
        temperature=polecat.model.temperature,
        output_schema=PROSE_SCHEMA,
        output_name=OUTPUT_NAME,
    )


def write_prose(
    changes: ProposedChanges | None,
    patterns: Sequence[Pattern],
    files: Sequence[str],
    *,
    backend: LlmBackend,
    polecat: Polecat,
    meter: Meter | None = None,
) -> ProseOutcome:
    """The PR's words from the pr-filer polecat, with no figure the facts do not give.

    One call; an answer out of shape goes back once with its problems; a second unusable
    answer, an answer the backend could not get into shape, or a refusal falls back to
    :func:`prose_from_code` with the reason. Any other :class:`LlmError` (a budget stop,
    no key, the API down, a replay miss) is raised: the caller decides whether to file
    with code's words.
    """
    metered: Meter = meter if meter is not None else _Unmetered()
    code = prose_from_code(changes, patterns, files)
    prompt = render_prompt(changes, patterns, files)
    repairs = 0
    try:
        answer, problems = _ask(prompt, files, polecat, backend, metered)
        if problems:
            repairs = 1
            follow_up = repair_prompt(prompt, answer.raw if answer else None, problems)
            answer, problems = _ask(follow_up, files, polecat, backend, metered)
    except (LlmOutputError, LlmRefusalError) as exc:
        return _fallback(code, f"the pr-filer's answer was unusable: {exc}", repairs)
    if answer is None or problems:
        reason = "; ".join(problems)
        return _fallback(code, f"the pr-filer's answer was unusable after a repair: {reason}")
    prose, removed = _checked(
        answer, code, prose_facts(changes, patterns, files), polecat.model.name
    )
    return ProseOutcome(prose, removed, fell_back=False, reason=None, repair_rounds=repairs)


def _ask(
    prompt: str,
    files: Sequence[str],
    polecat: Polecat,
    backend: LlmBackend,
    meter: Meter,
) -> tuple[ProseAnswer | None, list[str]]:
    """The parsed answer and its problems (empty: usable)."""
    response = backend.complete(prose_request(prompt, polecat), meter)
    try:
        answer = parse_answer(response.output)
    except LlmOutputError as exc:
        return None, [str(exc)]
    return answer, answer_problems(answer, files)


def _fallback(code: Prose, reason: str, repairs: int = 1) -> ProseOutcome:
    prose = Prose(code.title, code.summary, code.changes, code.impact, WRITTEN_BY_FALLBACK)
    return ProseOutcome(prose, (), fell_back=True, reason=reason, repair_rounds=repairs)


def _checked(
    answer: ProseAnswer, code: Prose, facts: Sequence[str], model: str
) -> tuple[Prose, tuple[str, ...]]:
    """The answer as Prose, each sentence holding an invented figure dropped (a field left
    empty takes code's words) and a title holding one replaced by code's."""
    removed: list[str] = []
    values = _fact_values(facts)
    title = full_title(answer.title)
    invented = _invented(title, values)
    if invented:
        removed += invented
        title = code.title
    summary = _kept(answer.summary, values, removed) or code.summary
    impact = _kept(answer.impact, values, removed) or code.impact
    whys = {path: _kept(why, values, removed) for path, why in answer.changes}
    changes = {path: whys.get(path) or code.changes[path] for path in code.changes}
    prose = Prose(title, summary, changes, impact, f"pr-filer ({model})")
    return prose, tuple(removed)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _kept(text: str, values: Sequence[Decimal], removed: list[str]) -> str:
    """``text`` without its sentences that hold an invented figure (added to ``removed``)."""
    kept = []
    for sentence in _SENTENCE_END.split(text):
        invented = _invented(sentence, values)
        if invented:
            removed.extend(invented)
        else:
            kept.append(sentence)
    return " ".join(kept).strip()


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------

_FIGURE = re.compile(
    r"(?<![\w.,:/#])(?<!\w-)"  # not inside an identifier, a version, a date, a time, a path
    r"(?P<currency>[$€£])?"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<unit>%|percent\b|per\s?cent\b|x\b|×|ms\b|milliseconds?\b|s\b|secs?\b"
    r"|seconds?\b|k\b|K\b|M\b))?"
    r"(?![\w.]\d|[A-Za-z_])"
)
"""A figure: ``7,149``, ``21.8%``, ``2x``, ``$0.05``, ``7.1 s``, ``12ms``, ``1.8k``; never a
digit inside a word (``p95``, ``claude-haiku-4-5``, a hex id), after ``:`` or ``.`` or a
hyphen that follows a word (the rest of a date, a time or a version); ``-40%`` is one."""

_SECONDS = frozenset({"s", "sec", "secs", "second", "seconds"})
_MILLISECONDS = frozenset({"ms", "millisecond", "milliseconds"})
_PERCENT = frozenset({"%", "percent", "per cent"})


@dataclass(frozen=True, slots=True)
class _Figure:
    text: str
    value: Decimal
    tolerance: Decimal
    """Half a unit of the last significant digit: a fact within it rounds to the figure."""
    scales: tuple[Decimal, ...]
    """Factors turning the figure into a fact's unit (7.1 s -> 7100 ms, 21.8% -> 0.218)."""


def _figures(text: str) -> list[_Figure]:
    found = []
    for match in _FIGURE.finditer(text):
        digits = match["number"].replace(",", "")
        try:
            value = Decimal(digits)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            continue
        whole, _, decimals = digits.partition(".")
        tolerance = Decimal(5) * Decimal(10) ** (-len(decimals) - 1)
        significant = whole.lstrip("0").rstrip("0")
        zeros = len(whole.lstrip("0")) - len(whole.lstrip("0").rstrip("0"))
        if not decimals and zeros and len(significant) >= 2:
            tolerance = Decimal(5) * Decimal(10) ** (zeros - 1)  # 7,100: rounded to hundreds
        unit = " ".join((match["unit"] or "").lower().split())
        scales = [Decimal(1)]
        if unit in _SECONDS:
            scales.append(Decimal(1000))
        elif unit in _MILLISECONDS:
            scales.append(Decimal("0.001"))
        elif unit in _PERCENT:
            scales.append(Decimal("0.01"))
        elif unit == "k":
            scales = [Decimal(1000)]
        elif unit == "m":
            scales = [Decimal(1_000_000)]
        found.append(_Figure(match.group(0).strip(), value, tolerance, tuple(scales)))
    return found


def _fact_values(facts: Iterable[str]) -> list[Decimal]:
    values: list[Decimal] = []
    for fact in facts:
        for figure in _figures(fact):
            values.extend(figure.value * scale for scale in figure.scales[:1])
    return values


def invented_figures(text: str, facts: Iterable[str]) -> list[str]:
    """The figures of ``text`` that no fact gives, in order (empty: none invented).

    A figure is given when a number of a fact equals it once formatting is undone
    (thousands separators), rounded to the figure's precision (``8939.32`` as ``8,939.3``
    or ``8,939``; ``7149`` as ``7,100``, two significant digits at least), converted
    between milliseconds and seconds (``7149`` as ``7.1 s``), or written as a percent of a
    ratio (``0.2178`` as ``21.8%``). Numbers spelled out in words are not figures here.
    """
    return _invented(text, _fact_values(facts))


def _invented(text: str, values: Sequence[Decimal]) -> list[str]:
    return [
        figure.text
        for figure in _figures(text)
        if not any(_derivable(figure, value) for value in values)
    ]


def _derivable(figure: _Figure, fact: Decimal) -> bool:
    for scale in figure.scales:
        if abs(fact - figure.value * scale) <= figure.tolerance * scale:
            return True
    return False

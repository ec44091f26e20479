"""Recursive-descent LogQL parser for the subset in ``syntax.py``.

Grammar (a slice of Loki's ``expr.y``)::

    expr        := metric | logQuery
    metric      := rangeAgg | vectorAgg
    rangeAgg    := RANGE_OP "(" [NUMBER ","] logQuery RANGE ")" [grouping]
    vectorAgg   := VEC_OP [grouping] "(" metric ")" [grouping]
    grouping    := ("by" | "without") "(" [IDENTIFIER {"," IDENTIFIER}] ")"
    logQuery    := "{" matcher {"," matcher} "}" {stage}
    stage       := lineOp STRING | "|" ("json" | "logfmt" | "unwrap" IDENTIFIER | labelOr)
    labelOr     := labelAnd {"or" labelAnd}
    labelAnd    := labelAtom {["and" | ","] labelAtom}
    labelAtom   := "(" labelOr ")" | IDENTIFIER cmp (STRING | NUMBER)

Validation after parsing mirrors Loki's messages (empty-compatible selectors, unwrap use).
"""

from __future__ import annotations

import re

from ..errors import ParseError
from .lexer import Kind, Token, tokenize
from .syntax import (
    RANGE_OPS_PLAIN,
    RANGE_OPS_UNWRAP,
    VECTOR_OPS,
    BinaryLabelFilter,
    Expr,
    Grouping,
    JsonStage,
    LabelFilter,
    LabelFilterStage,
    LineFilter,
    LogfmtStage,
    LogQuery,
    Matcher,
    MatchOp,
    MetricExpr,
    NumericLabelFilter,
    NumOp,
    RangeAggregation,
    Stage,
    StringLabelFilter,
    UnwrapStage,
    VectorAggregation,
)

_MATCH_KINDS = {
    Kind.EQ: MatchOp.EQ,
    Kind.NEQ: MatchOp.NEQ,
    Kind.RE: MatchOp.RE,
    Kind.NRE: MatchOp.NRE,
}
_LINE_KINDS = {
    Kind.PIPE_EXACT: MatchOp.EQ,
    Kind.NEQ: MatchOp.NEQ,
    Kind.PIPE_MATCH: MatchOp.RE,
    Kind.NRE: MatchOp.NRE,
}
_NUM_KINDS = {
    Kind.CMP_EQ: NumOp.EQ,
    Kind.EQ: NumOp.EQ,
    Kind.NEQ: NumOp.NEQ,
    Kind.GT: NumOp.GT,
    Kind.GTE: NumOp.GTE,
    Kind.LT: NumOp.LT,
    Kind.LTE: NumOp.LTE,
}
_EMPTY_SELECTOR = (
    "queries require at least one regexp or equality matcher that does not have an "
    'empty-compatible value. For instance, app=~".*" does not meet this requirement, '
    'but app=~".+" will'
)


def _compile(token: Token, anchored: bool) -> re.Pattern[str]:
    try:
        return re.compile(f"(?:{token.text})" if anchored else token.text)
    except re.error as exc:
        raise ParseError(f"error parsing regexp: {exc}", token.line, token.col) from None


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.pos = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind is not Kind.END:
            self.pos += 1
        return token

    def fail(self, token: Token, expecting: str = "") -> ParseError:
        shown = token.kind.value
        suffix = f", expecting {expecting}" if expecting else ""
        return ParseError(f"syntax error: unexpected {shown}{suffix}", token.line, token.col)

    def expect(self, kind: Kind) -> Token:
        token = self.next()
        if token.kind is not kind:
            raise self.fail(token, kind.value)
        return token

    def at_word(self, *words: str) -> bool:
        return self.peek.kind is Kind.IDENTIFIER and self.peek.text in words

    # -- entry ------------------------------------------------------------------------

    def parse(self) -> Expr:
        if self.peek.kind is Kind.END:
            raise ParseError("syntax error: unexpected $end", 0, 0)
        expr: Expr = self.metric() if self.peek.kind is Kind.IDENTIFIER else self.log_query()
        trailing = self.tokens[self.pos]
        if trailing.kind is not Kind.END:
            raise self.fail(trailing)
        return expr

    # -- metric queries ---------------------------------------------------------------

    def metric(self) -> MetricExpr:
        token = self.peek
        if token.kind is Kind.IDENTIFIER and token.text in VECTOR_OPS:
            return self.vector_aggregation()
        if token.kind is Kind.IDENTIFIER and token.text in RANGE_OPS_PLAIN | RANGE_OPS_UNWRAP:
            return self.range_aggregation()
        raise self.fail(token)

    def grouping(self) -> Grouping | None:
        if not self.at_word("by", "without"):
            return None
        without = self.next().text == "without"
        self.expect(Kind.OPEN_PAREN)
        labels: list[str] = []
        while self.peek.kind is not Kind.CLOSE_PAREN:
            if labels:
                self.expect(Kind.COMMA)
            labels.append(self.expect(Kind.IDENTIFIER).text)
        self.next()
        return Grouping(tuple(labels), without)

    def vector_aggregation(self) -> VectorAggregation:
        op = self.next().text
        grouping = self.grouping()
        self.expect(Kind.OPEN_PAREN)
        inner = self.metric()
        self.expect(Kind.CLOSE_PAREN)
        after = self.grouping()
        if grouping is not None and after is not None:
            raise self.fail(self.tokens[self.pos - 1])
        return VectorAggregation(op, inner, grouping or after)

    def range_aggregation(self) -> RangeAggregation:
        op_token = self.next()
        op = op_token.text
        self.expect(Kind.OPEN_PAREN)
        param: float | None = None
        if op == "quantile_over_time":
            param = float(self.expect(Kind.NUMBER).text)
            self.expect(Kind.COMMA)
        query = self.log_query(allow_unwrap=True)
        range_ns = self.expect(Kind.RANGE).duration
        self.expect(Kind.CLOSE_PAREN)
        grouping = self.grouping()
        unwrapped = query.unwrap is not None
        if unwrapped and op not in RANGE_OPS_UNWRAP:
            raise ParseError(f"invalid aggregation {op} with unwrap")
        if not unwrapped and op not in RANGE_OPS_PLAIN:
            raise ParseError(f"invalid aggregation {op} without unwrap")
        if grouping is not None and not unwrapped:
            raise ParseError(f"grouping not allowed for {op} aggregation")
        return RangeAggregation(op, query, range_ns, param, grouping)

    # -- log queries ------------------------------------------------------------------

    def log_query(self, allow_unwrap: bool = False) -> LogQuery:
        matchers = self.selector()
        stages: list[Stage] = []
        while True:
            token = self.peek
            if token.kind in _LINE_KINDS:
                stages.append(self.line_filter())
            elif token.kind is Kind.PIPE:
                self.next()
                stages.append(self.pipe_stage(allow_unwrap))
            else:
                break
            if any(isinstance(s, UnwrapStage) for s in stages[:-1]) and not isinstance(
                stages[-1], LabelFilterStage
            ):
                raise self.fail(token)
        return LogQuery(matchers, tuple(stages))

    def selector(self) -> tuple[Matcher, ...]:
        self.expect(Kind.OPEN_BRACE)
        matchers: list[Matcher] = []
        while True:
            name = self.expect(Kind.IDENTIFIER)
            op_token = self.next()
            if op_token.kind not in _MATCH_KINDS:
                raise self.fail(op_token, "=, !=, =~ or !~")
            value = self.expect(Kind.STRING)
            op = _MATCH_KINDS[op_token.kind]
            pattern = _compile(value, True) if op in (MatchOp.RE, MatchOp.NRE) else None
            matchers.append(Matcher(name.text, op, value.text, pattern))
            closing = self.next()
            if closing.kind is Kind.CLOSE_BRACE:
                break
            if closing.kind is not Kind.COMMA:
                raise self.fail(closing, "} or ,")
        if all(m.matches("") for m in matchers):
            raise ParseError(_EMPTY_SELECTOR)
        return tuple(matchers)

    def line_filter(self) -> LineFilter:
        op = _LINE_KINDS[self.next().kind]
        value = self.expect(Kind.STRING)
        pattern = _compile(value, False) if op in (MatchOp.RE, MatchOp.NRE) else None
        return LineFilter(op, value.text, pattern)

    def pipe_stage(self, allow_unwrap: bool) -> Stage:
        token = self.peek
        if self.at_word("json"):
            self.next()
            return JsonStage()
        if self.at_word("logfmt"):
            self.next()
            return LogfmtStage()
        if self.at_word("unwrap") and self.tokens[self.pos + 1].kind is Kind.IDENTIFIER:
            if not allow_unwrap:
                raise self.fail(token)
            self.next()
            return UnwrapStage(self.next().text)
        if token.kind in (Kind.IDENTIFIER, Kind.OPEN_PAREN):
            return LabelFilterStage(self.label_or())
        raise self.fail(token)

    def label_or(self) -> LabelFilter:
        expr = self.label_and()
        while self.at_word("or"):
            self.next()
            expr = BinaryLabelFilter(expr, False, self.label_and())
        return expr

    def label_and(self) -> LabelFilter:
        expr = self.label_atom()
        while True:
            if self.at_word("and") or self.peek.kind is Kind.COMMA:
                self.next()
            elif not (
                (self.peek.kind is Kind.IDENTIFIER and not self.at_word("or"))
                or self.peek.kind is Kind.OPEN_PAREN
            ):
                return expr
            expr = BinaryLabelFilter(expr, True, self.label_atom())

    def label_atom(self) -> LabelFilter:
        if self.peek.kind is Kind.OPEN_PAREN:
            self.next()
            expr = self.label_or()
            self.expect(Kind.CLOSE_PAREN)
            return expr
        name = self.expect(Kind.IDENTIFIER)
        op_token = self.next()
        value = self.next()
        if value.kind is Kind.STRING and op_token.kind in _MATCH_KINDS:
            op = _MATCH_KINDS[op_token.kind]
            pattern = _compile(value, True) if op in (MatchOp.RE, MatchOp.NRE) else None
            return StringLabelFilter(Matcher(name.text, op, value.text, pattern))
        if value.kind is Kind.NUMBER and op_token.kind in _NUM_KINDS:
            return NumericLabelFilter(name.text, _NUM_KINDS[op_token.kind], float(value.text))
        if op_token.kind not in _MATCH_KINDS and op_token.kind not in _NUM_KINDS:
            raise self.fail(op_token)
        raise self.fail(value, "STRING or NUMBER")


def parse(query: str) -> Expr:
    """Parse ``query`` or raise ``ParseError`` with Loki's wording."""
    return _Parser(query).parse()


def parse_log_query(query: str) -> LogQuery:
    """Parse a ``match[]``/``query`` parameter that must be a plain log selector."""
    expr = parse(query)
    if not isinstance(expr, LogQuery):
        raise ParseError("only log selectors are accepted here")
    return expr

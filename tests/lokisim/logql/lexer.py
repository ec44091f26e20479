"""LogQL tokenizer: turns a query into tokens carrying Loki's grammar names and positions.

Token kinds reuse the names in Loki's ``pkg/logql/syntax/expr.y`` (IDENTIFIER, STRING,
NUMBER, RANGE, ...) so parse errors read like Loki's
``parse error at line 1, col 5: syntax error: unexpected IDENTIFIER``.
Like Loki's lexer, ``[5m]`` is one RANGE token carrying the duration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum

from ..errors import ParseError
from ..timeparse import parse_duration

_RANGE_UNITS = frozenset({"ms", "s", "m", "h", "d", "w", "y"})


class Kind(Enum):
    """Token kinds; the value is the name Loki prints in syntax errors."""

    IDENTIFIER = "IDENTIFIER"
    STRING = "STRING"
    NUMBER = "NUMBER"
    RANGE = "RANGE"
    OPEN_BRACE = "{"
    CLOSE_BRACE = "}"
    OPEN_PAREN = "("
    CLOSE_PAREN = ")"
    COMMA = ","
    EQ = "="
    NEQ = "!="
    RE = "=~"
    NRE = "!~"
    PIPE = "|"
    PIPE_EXACT = "|="
    PIPE_MATCH = "|~"
    CMP_EQ = "=="
    GT = ">"
    GTE = ">="
    LT = "<"
    LTE = "<="
    END = "$end"


# Longest operators first so "|=" wins over "|" and "==" over "=".
_OPERATORS = sorted(
    (kind for kind in Kind if kind.value and not kind.value.isalpha() and kind is not Kind.END),
    key=lambda kind: -len(kind.value),
)


@dataclass(frozen=True)
class Token:
    """One token: kind, its text (unquoted for strings), and 1-based line/column."""

    kind: Kind
    text: str
    line: int
    col: int
    duration: int = 0


def _position(query: str, offset: int) -> tuple[int, int]:
    line = query.count("\n", 0, offset) + 1
    return line, offset - (query.rfind("\n", 0, offset) + 1) + 1


def _read_string(query: str, start: int) -> tuple[str, int]:
    """Read a double-quoted (Go escapes) or backtick (raw) string starting at ``start``."""
    quote = query[start]
    pos = start + 1
    while pos < len(query):
        char = query[pos]
        if char == "\\" and quote == '"':
            pos += 2
            continue
        if char == quote:
            raw = query[start : pos + 1]
            if quote == "`":
                return raw[1:-1], pos + 1
            try:
                return str(json.loads(raw)), pos + 1
            except json.JSONDecodeError as exc:
                line, col = _position(query, start)
                raise ParseError("invalid string escape", line, col) from exc
        pos += 1
    line, col = _position(query, start)
    raise ParseError("literal not terminated", line, col)


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens, ending with an END token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char.isspace():
            pos += 1
            continue
        line, col = _position(query, pos)
        if char == "#":  # LogQL comments run to the end of the line
            end = query.find("\n", pos)
            pos = len(query) if end < 0 else end
            continue
        if char in '"`':
            text, pos = _read_string(query, pos)
            tokens.append(Token(Kind.STRING, text, line, col))
            continue
        if char == "[":
            end = query.find("]", pos)
            body = query[pos + 1 : end].strip() if end > 0 else ""
            duration = parse_duration(body)
            if end < 0 or duration is None:
                raise ParseError("syntax error: unexpected [", line, col)
            finer = [unit for unit in re.findall(r"[^\d.]+", body) if unit not in _RANGE_UNITS]
            if finer:  # Loki reads ranges with Prometheus' ParseDuration: ms at the finest
                raise ParseError(f'unknown unit "{finer[0]}" in duration "{body}"', line, col)
            tokens.append(Token(Kind.RANGE, body, line, col, duration))
            pos = end + 1
            continue
        if char.isalpha() or char == "_":
            end = pos
            while end < len(query) and (query[end].isalnum() or query[end] == "_"):
                end += 1
            tokens.append(Token(Kind.IDENTIFIER, query[pos:end], line, col))
            pos = end
            continue
        if char.isdigit() or (char == "." and query[pos + 1 : pos + 2].isdigit()):
            end = pos
            while end < len(query) and (query[end].isalnum() or query[end] in "._"):
                end += 1
            text = query[pos:end]
            try:
                float(text)
            except ValueError:
                raise ParseError(f"syntax error: unexpected {text!r}", line, col) from None
            tokens.append(Token(Kind.NUMBER, text, line, col))
            pos = end
            continue
        for kind in _OPERATORS:
            if query.startswith(kind.value, pos):
                tokens.append(Token(kind, kind.value, line, col))
                pos += len(kind.value)
                break
        else:
            raise ParseError(f"syntax error: unexpected character {char!r}", line, col)
    line, col = _position(query, len(query))
    tokens.append(Token(Kind.END, "", line, col))
    return tokens

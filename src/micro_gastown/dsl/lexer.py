"""Just enough Haskell lexing (Haskell 2010 report, ch. 2 "Lexical Structure").

The graph and template readers need comments gone without shifting a line number,
string and character literals kept whole, tokens with their line and column, top-level
declarations split by the layout rule and bracket-aware splitting; nothing more. Only
``strip_comments`` is public; the underscore names are the package's internal lexing API,
shared by ``sources``, ``brackets``, ``graph`` and ``templates``.

What cannot be lexed is not dropped in silence: an unterminated string or ``{-``, or a
name holding an invisible character or undecodable bytes, is passed to a ``_Note``
callback (code, line, message) and becomes one ``BAD`` token that readers skip.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from micro_gastown.dsl.model import DslProblemCode
from micro_gastown.dsl.names import (
    REPLACEMENT_CHARACTER,
    describe_char,
    first_hidden,
    is_hidden,
    is_name_char,
    is_name_start,
    is_upper_start,
    visible,
)

__all__ = ["strip_comments"]

_Note = Callable[[DslProblemCode, int, str], None]
"""Where the lexer reports what it could not read: problem code, 1-based line, message."""

_SYMBOL_CHARS = frozenset("!#$%&*+./<=>?@\\^|-~:")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\(?:\s+\\|.))*"?', re.DOTALL)
_CLOSED_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\(?:\s+\\|.))*"', re.DOTALL)
_CHAR_RE = re.compile(r"'(?:[^'\\\n]|\\[^'\n]{1,12})'")
# A run of two or more dashes not followed by a symbol starts a line comment (`-->` does not).
_LINE_COMMENT_RE = re.compile(r"--+(?![!#$%&*+./<=>?@\\^|~:-])")
_BLOCK_DELIM_RE = re.compile(r"\{-|-\}")


def strip_comments(source: str) -> str:
    """Blank out ``--`` and nested ``{- -}`` comments, keeping every offset and line.

    String and character literals are skipped whole, so ``"--"`` inside one survives.
    """
    return _strip_comments(source, None)


def _strip_comments(source: str, note: _Note | None) -> str:
    """``strip_comments``, reporting a ``{-`` that is never closed to ``note``."""
    out: list[str] = []
    copied = i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        end = -1
        if ch == '"':
            match = _STRING_RE.match(source, i)
            i = match.end() if match else i + 1
            continue
        if ch == "'":
            prev = source[i - 1] if i else " "
            literal = None if prev.isalnum() or prev in "_'" else _CHAR_RE.match(source, i)
            i = literal.end() if literal else i + 1
            continue
        if ch == "{" and source.startswith("{-", i):
            end = _block_comment_end(source, i)
            if end < 0:
                end = n
                if note is not None:
                    note(
                        DslProblemCode.UNTERMINATED_COMMENT,
                        source.count("\n", 0, i) + 1,
                        "'{-' is never closed: the rest of the file is a comment",
                    )
        elif (
            ch == "-"
            and (i == 0 or source[i - 1] not in _SYMBOL_CHARS)
            and _LINE_COMMENT_RE.match(source, i)
        ):
            end = source.find("\n", i)
            end = n if end < 0 else end
        if end < 0:
            i += 1
            continue
        out.append(source[copied:i])
        out.append(re.sub(r"[^\n]", " ", source[i:end]))
        copied = i = end
    out.append(source[copied:])
    return "".join(out)


def _block_comment_end(source: str, start: int) -> int:
    depth = 0
    for match in _BLOCK_DELIM_RE.finditer(source, start):
        depth += 1 if match.group() == "{-" else -1
        if depth == 0:
            return match.end()
    return -1  # unterminated: the caller runs the comment to the end of the file


class _Tok(Enum):
    NAME = "name"  # varid or conid, possibly qualified (`G.LLMNode`)
    STRING = "string"
    CHAR = "char"
    NUMBER = "number"
    OP = "op"
    PUNCT = "punct"
    TICK = "tick"  # a promotion quote (`'[`) or half of a TH name quote (`''Ctx`)
    OTHER = "other"
    BAD = "bad"  # could not be read (already reported): whatever holds it is skipped


# Names are scanned by ``_name_end`` (Unicode rules, see ``names``); everything else here.
_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<string>"(?:[^"\\\n]|\\(?:\s+\\|.))*"?)
    | (?P<char>(?<![\w'])'(?:[^'\\\n]|\\[^'\n]{1,12})')
    | (?P<number>\d[\w.]*)
    | (?P<op>[!#$%&*+./<=>?@\\^|~:-]+)
    | (?P<punct>[()\[\]{},;`])
    | (?P<tick>')
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Tok
    text: str
    line: int
    col: int

    def is_op(self, text: str) -> bool:
        return self.kind is _Tok.OP and self.text == text

    def is_punct(self, text: str) -> bool:
        return self.kind is _Tok.PUNCT and self.text == text

    @property
    def bare(self) -> str:
        """The name without its module qualifier: ``G.LLMNode`` -> ``LLMNode``."""
        return self.text.rsplit(".", 1)[-1] if self.kind is _Tok.NAME else self.text

    @property
    def is_conid(self) -> bool:
        return self.kind is _Tok.NAME and is_upper_start(self.bare[:1])


def _ignore(code: DslProblemCode, line: int, message: str) -> None:
    """A ``_Note`` for callers that only want the tokens."""


def _tokenize(source: str, note: _Note = _ignore) -> list[_Token]:
    """Tokens of comment-free source, each with its 1-based line and 0-based column.

    A string literal without its closing quote (it ends at the end of its line) and a
    name holding a hidden or replacement character become ``BAD`` tokens, reported to
    ``note``; so does a hidden character standing on its own between tokens.
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
    tokens = []
    pos, n = 0, len(source)
    while pos < n:
        ch = source[pos]
        kind: _Tok | None
        if ch in _ASCII_NAME_START or (ch not in _ASCII_OTHER and _starts_name_run(ch)):
            end = _name_end(source, pos)
            kind = _name_kind(source[pos:end], bisect.bisect_right(line_starts, pos), note)
        else:
            match = _TOKEN_RE.match(source, pos)
            if match is None or match.lastgroup is None:  # unreachable: `other` takes any char
                break
            end = match.end()
            kind = _KINDS[match.lastgroup]
            if kind is None:  # whitespace
                pos = end
                continue
            if kind is _Tok.STRING and not _CLOSED_STRING_RE.fullmatch(source, pos, end):
                note(
                    DslProblemCode.UNTERMINATED_STRING,
                    bisect.bisect_right(line_starts, pos),
                    "string literal has no closing quote: the rest of the line is skipped",
                )
                kind = _Tok.BAD
        line = bisect.bisect_right(line_starts, pos)
        tokens.append(_Token(kind, source[pos:end], line, pos - line_starts[line - 1]))
        pos = end
    return tokens


_KINDS: dict[str, _Tok | None] = {"space": None} | {kind.value: kind for kind in _Tok}
_ASCII_NAME_START = frozenset("_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Printable ASCII and ASCII whitespace that cannot start a name: the regex takes them.
_ASCII_OTHER = frozenset(map(chr, range(0x20, 0x7F))) - _ASCII_NAME_START | frozenset(
    "\t\n\r\x0b\x0c"
)
_ASCII_NAME_CHARS_RE = re.compile(r"[A-Za-z0-9_']*")


def _starts_name_run(ch: str) -> bool:
    return is_name_start(ch) or ch == REPLACEMENT_CHARACTER or is_hidden(ch)


def _in_name_run(ch: str) -> bool:
    return is_name_char(ch) or ch == REPLACEMENT_CHARACTER or is_hidden(ch)


def _name_end(source: str, start: int) -> int:
    """End of the (possibly qualified) name at ``start``, hidden characters included, so a
    zero-width space inside ``answer<ZWSP>Faq`` spoils one name instead of making two."""
    n = len(source)
    pos = start
    while True:
        segment = pos
        pos += 1
        while True:
            ascii_run = _ASCII_NAME_CHARS_RE.match(source, pos)
            pos = ascii_run.end() if ascii_run else pos
            if pos < n and source[pos] not in _ASCII_OTHER and _in_name_run(source[pos]):
                pos += 1
            else:
                break
        qualified = (
            is_upper_start(source[segment])
            and pos + 1 < n
            and source[pos] == "."
            and is_name_start(source[pos + 1])
        )
        if not qualified:
            return pos
        pos += 1


def _name_kind(text: str, line: int, note: _Note) -> _Tok:
    """NAME, or BAD (reported) when ``text`` holds a character no name may hold."""
    if text.isascii() and text.isprintable():
        return _Tok.NAME
    hidden = first_hidden(text)
    if hidden is not None:
        shown = visible(text)
        where = f"name {shown!r} contains" if shown else "code contains"
        note(
            DslProblemCode.INVISIBLE_CHARACTER,
            line,
            f"{where} {describe_char(hidden)}, which does not show: skipped",
        )
        return _Tok.BAD
    if REPLACEMENT_CHARACTER in text:
        note(
            DslProblemCode.INVALID_NAME,
            line,
            f"name {text!r} contains bytes that are not UTF-8: skipped",
        )
        return _Tok.BAD
    return _Tok.NAME


def _declarations(tokens: list[_Token]) -> Iterator[list[_Token]]:
    """Split a module into top-level declarations: each starts in column 0 (layout rule)."""
    start = 0
    for i, token in enumerate(tokens):
        if token.col == 0 and i > start:
            yield tokens[start:i]
            start = i
    if start < len(tokens):
        yield tokens[start:]


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())


def _depth_step(token: _Token) -> int:
    if token.kind is _Tok.PUNCT:
        if token.text in _OPENERS:
            return 1
        if token.text in _CLOSERS:
            return -1
    return 0


def _split_top(tokens: Sequence[_Token], is_sep: Callable[[_Token], bool]) -> list[list[_Token]]:
    """Split on separators outside any bracket (unbalanced input degrades, never raises)."""
    parts: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if depth == 0 and is_sep(token):
            parts.append([])
            continue
        depth = max(0, depth + _depth_step(token))
        parts[-1].append(token)
    return parts


def _matching(tokens: Sequence[_Token], open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at``, or -1 when unbalanced."""
    depth = 0
    for i in range(open_at, len(tokens)):
        depth += _depth_step(tokens[i])
        if depth == 0:
            return i
    return -1


def _unwrap_parens(tokens: Sequence[_Token]) -> list[_Token]:
    """Drop parentheses around the whole expression: ``((Maybe X))`` -> ``Maybe X``.

    Tuple parentheses are kept: ``(A, B)`` is a different type from ``A, B``.
    """
    items = list(tokens)
    while len(items) >= 2 and items[0].is_punct("(") and _matching(items, 0) == len(items) - 1:
        inner = items[1:-1]
        if len(_split_top(inner, lambda t: t.is_punct(","))) > 1:
            break
        items = inner
    return items


def _render(tokens: Sequence[_Token]) -> str:
    """Type text with normalised spacing, whatever the layout or comments in the source."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        glue = (
            prev is None
            or prev.kind is _Tok.TICK
            or prev.text in ("(", "[")
            or (token.kind is _Tok.PUNCT and token.text in (")", "]", ","))
        )
        out.append(token.text if glue else " " + token.text)
    return "".join(out)


def _payload(tokens: Sequence[_Token]) -> str | None:
    """A type argument as text; None when absent or when part of it could not be read."""
    if any(t.kind is _Tok.BAD for t in tokens):
        return None
    text = _render(_unwrap_parens(tokens))
    return text or None


def _string_value(token: _Token) -> str:
    """The contents of a string literal; escapes beyond ``\\"`` and ``\\\\`` are left as is."""
    body = token.text[1:-1] if token.text.endswith('"') and len(token.text) > 1 else token.text[1:]
    return re.sub(r'\\(["\\])', r"\1", body)

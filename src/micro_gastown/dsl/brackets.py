"""Balance and bound the brackets of each top-level declaration before anything reads it.

One missing ``]`` inside a graph record used to swallow every field after it, and 100,000
nested parentheses made the readers quadratic or recursive. Brackets are therefore fixed
once, here, per declaration (the layout rule already splits declarations by column, so
damage never crosses one): a closer that closes nothing is dropped, a bracket never closed
is taken as closed where its line's indentation ends (before the next record field, see
``_ends``), and a group nested deeper than ``MAX_DEPTH`` becomes one ``BAD`` token. Each
fix is reported; balanced input is unchanged.
"""

from __future__ import annotations

from micro_gastown.dsl.lexer import _OPENERS, _declarations, _depth_step, _Note, _Tok, _Token
from micro_gastown.dsl.model import DslProblemCode

MAX_DEPTH = 64
"""Deeper than any real type; keeps the readers' work linear and their recursion shallow."""

_MAX_FIXES = 50
"""Bracket fixes per declaration before the rest of it is given up on (bounds the work)."""


def _balanced(tokens: list[_Token], note: _Note) -> list[_Token]:
    """``tokens`` with every declaration's brackets balanced and at most ``MAX_DEPTH`` deep."""
    out: list[_Token] = []
    for declaration in _declarations(tokens):
        out.extend(_Declaration(declaration, note).repaired())
    return out


class _Declaration:
    def __init__(self, tokens: list[_Token], note: _Note) -> None:
        self.tokens = tokens
        self.note = note
        self.out: list[_Token] = []
        self.open: list[int] = []  # indices in ``out`` of brackets not closed yet
        self.fixes = 0
        self.indent: dict[int, int] = {}  # line -> column of its first token
        for token in tokens:
            self.indent.setdefault(token.line, token.col)

    def repaired(self) -> list[_Token]:
        i = 0
        while i < len(self.tokens):
            if self.fixes >= _MAX_FIXES:
                self._give_up(self.tokens[i])
                break
            token = self.tokens[i]
            step = _depth_step(token)
            if step > 0 and len(self.open) >= MAX_DEPTH:
                i = self._skip_deep(i)
                continue
            if step > 0:
                self.open.append(len(self.out))
                self.out.append(token)
            elif step < 0:
                self._close(token)
            else:
                self.out.append(token)
            i += 1
        while self.open:
            self._close_unclosed(self.open.pop())
        return self.out

    def _close(self, closer: _Token) -> None:
        matching = [
            k for k, at in enumerate(self.open) if _OPENERS[self.out[at].text] == closer.text
        ]
        if not matching:
            self.fixes += 1
            self.note(
                DslProblemCode.UNEXPECTED_BRACKET,
                closer.line,
                f"{closer.text!r} closes no open bracket: ignored",
            )
            return
        while len(self.open) > matching[-1] + 1:
            self._close_unclosed(self.open.pop())
        self.open.pop()
        self.out.append(closer)

    def _ends(self, opener: _Token, token: _Token, previous: _Token) -> bool:
        """Whether ``token`` starts a line that layout puts outside ``opener``'s group.

        That is a line indented less than the opener's line, or as much when the opener
        is not the first token of its line: in ``  { a :: T (`` the ``(`` ends before the
        next ``  , b :: U`` field, while the ``{`` itself (first on its line) does not.
        """
        if token.line == previous.line:
            return False
        limit = self.indent[opener.line]
        return token.col < limit or (token.col == limit and opener.col != limit)

    def _close_unclosed(self, at: int) -> None:
        """Close the bracket at ``out[at]`` where its indentation ends (outside nested
        brackets), else at the end."""
        opener = self.out[at]
        depth = 0
        insert_at = len(self.out)
        for k in range(at + 1, len(self.out)):
            token = self.out[k]
            if depth == 0 and self._ends(opener, token, self.out[k - 1]):
                insert_at = k
                break
            depth = max(0, depth + _depth_step(token))
        before = self.out[insert_at - 1]
        closer = _Token(
            _Tok.PUNCT, _OPENERS[opener.text], before.line, before.col + len(before.text)
        )
        self.out.insert(insert_at, closer)
        self.fixes += 1
        self.note(
            DslProblemCode.UNCLOSED_BRACKET,
            opener.line,
            f"{opener.text!r} is never closed: read as closed at line {before.line}",
        )

    def _skip_deep(self, start: int) -> int:
        """Replace the too-deep group opening at ``start`` by one BAD token, up to where it
        closes or its indentation ends; the index to go on from."""
        opener = self.tokens[start]
        depth = 0
        end = len(self.tokens)
        for k in range(start, len(self.tokens)):
            if k > start and self._ends(opener, self.tokens[k], self.tokens[k - 1]):
                end = k
                break
            depth += _depth_step(self.tokens[k])
            if depth == 0:
                end = k + 1
                break
        self.fixes += 1
        self.note(
            DslProblemCode.TOO_DEEP,
            opener.line,
            f"brackets nested more than {MAX_DEPTH} deep: skipped up to line "
            f"{self.tokens[end - 1].line}",
        )
        self.out.append(_Token(_Tok.BAD, opener.text, opener.line, opener.col))
        return end

    def _give_up(self, token: _Token) -> None:
        """Too many fixes: the rest of the declaration is one BAD token (reported)."""
        self.note(
            DslProblemCode.UNCLOSED_BRACKET,
            token.line,
            f"more than {_MAX_FIXES} bracket problems: the declaration is not read from here on",
        )
        self.out.append(_Token(_Tok.BAD, token.text, token.line, token.col))
        for at in reversed(self.open):
            last = self.out[-1]
            text = _OPENERS[self.out[at].text]
            self.out.append(_Token(_Tok.PUNCT, text, last.line, last.col + len(last.text)))
        self.open.clear()

"""How deeply a TOML or JSON text nests, measured before a parser recurses into it.

``tomllib`` and ``json`` both recurse once per ``[`` or ``{``, and so do pydantic's error
messages, ``copy.deepcopy`` and our own ``$ref`` walk: a file nested 100,000 deep (a
mistake, or a file written to break the tool) would end in a RecursionError traceback. Real
configuration, run state and replay files are a few levels deep, so anything past
``MAX_NESTING`` is refused as one problem naming the file and line, before any parser sees
it. A bottom-layer module, so that every reader of such files (configuration, the LLM
runtime's replay files) can use it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NESTING", "too_deep_at", "too_deep_message"]

MAX_NESTING = 100
"""Arrays, tables and objects inside one another; shipped files use fewer than 10."""

# Strings (TOML multi-line and literal ones too; JSON only has "...") and TOML comments
# are skipped whole, so a bracket inside them does not count; any other bracket does.
_SKIPPED_OR_BRACKET = re.compile(
    r'"""[\s\S]*?"""'
    r"|'''[\s\S]*?'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{}]"
)


def too_deep_at(text: str) -> int | None:
    """The 1-based line where ``text`` first nests deeper than ``MAX_NESTING``, or None.

    Linear and without recursion. A file that is invalid anyway may be measured a little
    off; the parser then reports its real error, unless it is this deep.
    """
    depth = 0
    for match in _SKIPPED_OR_BRACKET.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > MAX_NESTING:
                return text.count("\n", 0, match.start()) + 1
        elif token == "]" or token == "}":
            depth = max(0, depth - 1)
    return None


def too_deep_message() -> str:
    """The problem's text, the same wherever a file is refused for its depth."""
    return f"nested more than {MAX_NESTING} levels deep (arrays, tables or objects): not read"

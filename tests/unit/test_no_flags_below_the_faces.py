"""Nothing below the faces spells a command-line flag (issue 10).

Only the CLI (``cli/``) and the application layer (``app/``) know the flags; every lower
module raises errors and writes notes in neutral words and names the setting through
``MicroGastownError.setting``, so each face can word it for itself. This scans the string
literals (not docstrings, which may explain a flag) of every other module for ``--name``.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import micro_gastown
from micro_gastown.cli.flags import worded
from micro_gastown.errors import DslError, UsageError

PACKAGE = Path(micro_gastown.__file__).parent
FACES = ("cli", "app", "testing")
STRING_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
"""Python 3.11 tokenizes an f-string as one STRING; 3.12+ splits it into FSTRING_MIDDLE parts."""
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
FOREIGN_PROGRAM = "logcli "
"""Flags after it in the same literal are logcli's own (``logcli query --forward``)."""
FOREIGN_FLAG_PATTERNS = frozenset({Path("evidence/secret_rules_extra.py")})
"""Regexes that find another program's flags in log lines (``curl --user``): not ours."""
ARGV_FOR_CLAUDE = Path("llm/claude_code.py")
"""The argv this tool builds for the ``claude`` executable: that program's flags, not ours."""


GIT_RUNNERS = frozenset(
    {
        Path("refine/worktree.py"),
        Path("github/gitpush.py"),
        Path("github/gitrevert.py"),
        Path("github/gitrun.py"),
        Path("github/recording.py"),
    }
)
"""Every literal flag of these modules is git's own: they build git's argv (or, for the dry
run's record, write down the ``git push`` a real run would make) and nothing else."""
GIT_DIFF_HEADER = "diff --git "
"""The first line of a git-style diff (refine/diffs.py), not a flag."""


def _is_claude_argv(relative: Path, line: str) -> bool:
    return relative == ARGV_FOR_CLAUDE and "argv" in line


def _is_git_text(relative: Path, literal: str) -> bool:
    return relative in GIT_RUNNERS or literal.strip("\"'f").startswith(GIT_DIFF_HEADER)


def _docstring_starts(tokens: list[tokenize.TokenInfo]) -> set[tuple[int, int]]:
    """Where each docstring starts: a STRING that is a whole statement (after a NEWLINE,
    INDENT, DEDENT or at the start of the file, and followed by a NEWLINE)."""
    starts: set[tuple[int, int]] = set()
    skip = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING}
    meaningful = [t for t in tokens if t.type not in skip]
    for index, token in enumerate(meaningful):
        if token.type != tokenize.STRING:
            continue
        before = meaningful[index - 1] if index else None
        after = meaningful[index + 1] if index + 1 < len(meaningful) else None
        statement_start = before is None or before.type in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
        )
        statement_end = after is None or after.type in (tokenize.NEWLINE, tokenize.ENDMARKER)
        if statement_start and statement_end:
            starts.add(token.start)
    return starts


def flags_in(path: Path, root: Path = PACKAGE) -> list[str]:
    """``file:line: text`` for each flag spelled in a non-docstring string literal."""
    relative = path.relative_to(root)
    source = path.read_text(encoding="utf-8")
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    docstrings = _docstring_starts(tokens)
    lines = source.splitlines()
    found: list[str] = []
    for token in tokens:
        if token.type not in STRING_TOKENS:
            continue
        if token.start in docstrings:
            continue
        line = lines[token.start[0] - 1]
        if _is_claude_argv(relative, line) or _is_git_text(relative, token.string):
            continue
        if relative in FOREIGN_FLAG_PATTERNS and token.string.startswith(("r'", 'r"')):
            continue
        for match in FLAG.finditer(token.string):
            if FOREIGN_PROGRAM in token.string[: match.start()]:
                continue
            found.append(f"{relative}:{token.start[0]}: {match.group()}")
    return found


def lower_modules() -> list[Path]:
    return sorted(
        path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] not in FACES
    )


def test_no_module_below_the_faces_spells_a_flag() -> None:
    found = [hit for path in lower_modules() for hit in flags_in(path)]
    assert not found, "flags named below the CLI/app layers:\n" + "\n".join(found)


def test_the_scan_sees_flags_in_strings_but_not_in_docstrings(tmp_path: Path) -> None:
    fake = tmp_path / "pkg"
    fake.mkdir()
    module = fake / "mod.py"
    module.write_text(
        '"""Module doc: --since is explained here."""\n'
        "def f(x: int) -> str:\n"
        '    """Function doc naming --until."""\n'
        '    return f"--repo {x}: no such directory"\n'
        'MESSAGE = "pass --budget-usd"\n'
        'ALSO = ("a-b --c", "x", "export with `logcli query --forward`")\n',
        encoding="utf-8",
    )
    hits = flags_in(module, root=fake)
    assert hits == ["mod.py:4: --repo", "mod.py:5: --budget-usd"]


def test_an_error_about_a_setting_reads_neutrally_and_the_cli_names_the_flag() -> None:
    error = UsageError("expected one of a, b", setting="budget_usd", value="x y")
    assert str(error) == "budget_usd 'x y': expected one of a, b"
    assert worded(error) == "--budget-usd 'x y': expected one of a, b"
    assert worded(UsageError("the window is empty", setting="since")) == (
        "--since: the window is empty"
    )
    assert worded(DslError("not a directory", setting="repo", value=Path("/x"))) == (
        "--repo /x: not a directory"
    )
    plain = UsageError("nothing to do with a setting")
    assert worded(plain) == str(plain) == "nothing to do with a setting"

"""``micro-gastown validate``: check every polecat, formula and schema before anything runs.

Checks the repository's shipped files plus each ``--config-dir`` (same layout; a file there
overrides the shipped file of the same name) and prints every problem, one per line as
``path: table.key: message``, then a summary. Exit 0 when clean, 2 when not.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from micro_gastown.bundled import bundled_root
from micro_gastown.config.problems import Problem
from micro_gastown.config.validate import count_files, validate_dirs

PROBLEMS_EXIT = 2


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="check every polecat, formula and schema (shipped and your own)",
        description=(
            "Check the shipped polecats/, formulas/ and schemas/ and those of each "
            "--config-dir, and list every problem found."
        ),
    )
    parser.add_argument(
        "--config-dir",
        dest="config_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a directory with polecats/, formulas/ and/or schemas/ (repeatable; later "
        "directories override earlier files of the same name)",
    )
    parser.set_defaults(func=run)


def _shown(problem: Problem) -> str:
    """The problem with its path relative to the working directory when it is inside it."""
    path = problem.path.absolute()
    relative = os.path.relpath(path)
    shown = Path(relative) if not relative.startswith("..") else path
    return str(Problem(shown, problem.where, problem.message))


def run(args: argparse.Namespace) -> int:
    dirs = [bundled_root(), *args.config_dirs]
    problems = validate_dirs(dirs)
    for problem in problems:
        print(_shown(problem))
    checked = count_files(dirs)
    if not problems:
        print(f"{checked} files checked: no problems")
        return 0
    noun = "problem" if len(problems) == 1 else "problems"
    print(f"{checked} files checked: {len(problems)} {noun}")
    return PROBLEMS_EXIT

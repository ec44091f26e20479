"""`micro-gastown graph`: show the nodes and edges a DSL checkout declares.

This is the first thing to run against a new checkout: if the reader misses an edge
here, every later finding about dead paths would be wrong, so the output names the
``file:line`` each node and edge was read from, and the parts that could not be read
(file:line and why) are listed in the output and as one warning line each on stderr.
The exit code stays 0 with such problems unless nothing at all could be read (4).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from micro_gastown.cli import say
from micro_gastown.dsl import read_dsl
from micro_gastown.dsl.render import OutputFormat, render
from micro_gastown.errors import DslError


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "graph",
        help="print the nodes and edges declared in an ExoMonad DSL checkout",
        description="Read every Graph.hs under --repo and print its nodes and edges.",
    )
    parser.add_argument(
        "--repo",
        required=True,
        type=Path,
        metavar="PATH",
        help="root of the ExoMonad checkout (searched for Graph.hs files)",
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=[f.value for f in OutputFormat],
        default=OutputFormat.TEXT.value,
        help="output format (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model = read_dsl(args.repo)
    for problem in model.problems:
        say.warning(str(problem))
    sys.stdout.write(render(model, OutputFormat(args.output_format)))
    if model.problems and not model.graphs:
        count = len(model.problems)
        raise DslError(
            f"--repo {args.repo}: no graph could be read "
            f"({count} problem{'s' if count != 1 else ''}, see the warnings above)"
        )
    return 0

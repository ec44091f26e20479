"""`micro-gastown graph`: show the nodes and edges a DSL checkout declares.

This is the first thing to run against a new checkout: if the reader misses an edge
here, every later finding about dead paths would be wrong, so the output names the
``file:line`` each node and edge was read from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from micro_gastown.dsl import read_dsl
from micro_gastown.dsl.render import OutputFormat, render


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
    sys.stdout.write(render(model, OutputFormat(args.output_format)))
    return 0

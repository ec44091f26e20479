"""`micro-gastown logs ...`: look at ExoMonad's events in Loki or an export, one
sub-command per view.

Each module here adds its sub-commands through ``register(commands)``:

- :mod:`.views`: ``transitions``, ``llm-calls``, ``errors`` and ``session``, which replace
  the old sleeptime-logs tool. They share one set of flags and one reader.
- :mod:`.export`: ``export``, the base selector's window as logcli ``--output=jsonl``.
- :mod:`.templates`: ``templates FILE``, raw messages clustered into Drain templates.
- :mod:`.source`: reading entries for views and export (their ``--source``/``--selector``
  flags are :mod:`micro_gastown.cli.source_flags`).
"""

from __future__ import annotations

import argparse
from typing import Any

from micro_gastown.cli.logs import export, templates, views


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "logs",
        help="query events in Loki or an export (sleeptime-logs views), export a window",
        description=(
            "Look at ExoMonad's events in Loki or a logcli export: transitions, LLM calls, "
            "errors and sessions (the sleeptime-logs views), a window exported as JSONL, "
            "and error messages clustered into templates."
        ),
    )
    commands = parser.add_subparsers(dest="logs_command", metavar="SUBCOMMAND")
    commands.required = True
    # Registration order is the order `logs --help` lists the sub-commands in.
    for module in (templates, views, export):
        module.register(commands)

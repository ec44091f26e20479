"""`micro-gastown logs ...`: look at raw logs offline, one sub-command per view.

Each module here adds its sub-commands through ``register(commands)``:

- :mod:`.views`: ``transitions``, ``llm-calls``, ``errors`` and ``session``, which replace
  sleeptime-logs (SPEC §4). They share one set of flags and one reader.
- :mod:`.export`: ``export``, the base selector's window as logcli ``--output=jsonl``.
- :mod:`.templates`: ``templates FILE``, raw messages clustered into Drain templates.
- :mod:`.source`: the ``--source``/``--selector`` flags and reading entries from them,
  shared by views and export.
"""

from __future__ import annotations

import argparse
from typing import Any

from micro_gastown.cli.logs import export, templates, views


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "logs",
        help="inspect raw log files offline",
        description="Inspect raw log files offline.",
    )
    commands = parser.add_subparsers(dest="logs_command", metavar="SUBCOMMAND")
    commands.required = True
    # Registration order is the order `logs --help` lists the sub-commands in.
    for module in (templates, views, export):
        module.register(commands)

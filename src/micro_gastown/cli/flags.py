"""The one place that turns a setting's neutral name into the command-line flag that sets it.

Lower layers raise errors naming a setting (``MicroGastownError.setting``: "repo",
"budget_usd", ...), never a flag; the CLI words them here, so a user still reads
``--repo /x: no such directory`` while another face can name the same setting its own way.
"""

from __future__ import annotations

from collections.abc import Collection

from micro_gastown.errors import MicroGastownError, shown_value


def flag_for(setting: str) -> str:
    """``budget_usd`` -> ``--budget-usd``."""
    return "--" + setting.replace("_", "-")


def worded(exc: MicroGastownError, options: Collection[str] | None = None) -> str:
    """The error's one line as the CLI says it: the flag and its value first, when the
    error is about a setting the command has a flag for. ``options`` are the running
    command's option strings: a setting it has no flag for (one read from the environment
    or a polecat file, such as a forbidden path glob) keeps its own name rather than
    pointing at a flag that does not exist."""
    if exc.setting is None:
        return str(exc)
    flag = flag_for(exc.setting)
    if options is not None and flag not in options:
        return str(exc)
    return f"{flag}{shown_value(exc.value)}: {exc.reason}"

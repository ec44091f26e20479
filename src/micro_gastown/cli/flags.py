"""The one place that turns a setting's neutral name into the command-line flag that sets it.

Lower layers raise errors naming a setting (``MicroGastownError.setting``: "repo",
"budget_usd", ...), never a flag; the CLI words them here, so a user still reads
``--repo /x: no such directory`` while another face can name the same setting its own way.
"""

from __future__ import annotations

from micro_gastown.errors import MicroGastownError, shown_value


def flag_for(setting: str) -> str:
    """``budget_usd`` -> ``--budget-usd``."""
    return "--" + setting.replace("_", "-")


def worded(exc: MicroGastownError) -> str:
    """The error's one line as the CLI says it: the flag and its value first, when the
    error is about a setting."""
    if exc.setting is None:
        return str(exc)
    return f"{flag_for(exc.setting)}{shown_value(exc.value)}: {exc.reason}"

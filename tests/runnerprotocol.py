"""How the Actions runner reads what a step wrote: its stdout and its environment files.

Shared by the tests of the workflow-command protocol (``tests/unit/action``) and of the
Action's entry point (``tests/integration/action``), so that both read a step's output the
same way the runner does (GitHub Docs, "Workflow commands for GitHub Actions"; the runner's
ActionCommand and file-command parsing): stdout line by line, a command being a line that
starts with ``::`` after leading blanks, nothing acted on between ``::stop-commands::TOKEN``
and ``::TOKEN::``; and ``GITHUB_OUTPUT`` as ``NAME=VALUE`` lines or ``NAME<<DELIMITER``
heredocs split on LF. The legacy ``##[command]`` form counts as a command too, to be strict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Command", "runner_commands", "runner_file_pairs"]


# -- the runner's reading of stdout --


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def runner_commands(stdout: str) -> list[Command]:
    """The commands the runner acts on in ``stdout``, in order."""
    acted: list[Command] = []
    stopped_until: str | None = None
    for raw in re.split(r"\r\n|\r|\n", stdout):
        line = raw.lstrip()
        if line.startswith("##["):
            name = re.split(r"[ \]]", line[3:], maxsplit=1)[0]
            command = Command(name)
        elif line.startswith("::") and "::" in line[2:]:
            info, data = line[2:].split("::", 1)
            name, _, props = info.partition(" ")
            properties = {
                key: _unescape_property(value)
                for key, _, value in (p.partition("=") for p in props.split(",") if p)
            }
            command = Command(name, properties, _unescape_data(data))
        else:
            continue
        if stopped_until is not None:
            if command.name.lower() == stopped_until.lower():
                stopped_until = None
            continue
        if command.name == "stop-commands":
            stopped_until = command.data
            continue
        acted.append(command)
    return acted


# -- the runner's reading of GITHUB_OUTPUT / GITHUB_ENV --


def runner_file_pairs(text: str) -> list[tuple[str, str]]:
    """Each (name, value) the runner reads from an environment file, in order; raises as
    the runner fails the step on a malformed file."""
    pairs: list[tuple[str, str]] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line.split("=", 1)
            pairs.append((name, value))
            continue
        if heredoc < 0:
            raise ValueError(f"invalid format {line!r}")
        name, delimiter = line.split("<<", 1)
        if not name or not delimiter:
            raise ValueError(f"invalid format {line!r}")
        value_lines: list[str] = []
        while True:
            if index >= len(lines):
                raise ValueError(f"matching delimiter not found {delimiter!r}")
            if lines[index] == delimiter:
                index += 1
                break
            value_lines.append(lines[index])
            index += 1
        pairs.append((name, "\n".join(value_lines)))
    return pairs

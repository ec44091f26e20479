"""One command-line grammar: a short flag means one thing in every command, and every
command that can print more than one format picks it with --format."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from micro_gastown.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _commands(child)


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help != argparse.SUPPRESS]


def test_a_short_flag_means_one_thing_in_every_command() -> None:
    meanings: dict[str, set[str]] = {}
    for command in _commands(build_parser()):
        for action in _visible(command):
            longs = [o for o in action.option_strings if o.startswith("--")]
            for short in (o for o in action.option_strings if not o.startswith("--")):
                meanings.setdefault(short, set()).update(longs)
    assert meanings  # -o, -j, -n, -s, -v are in use
    assert {short: longs for short, longs in meanings.items() if len(longs) != 1} == {}


def test_output_formats_are_chosen_with_format_only() -> None:
    formats = {}
    for command in _commands(build_parser()):
        options = {o for a in _visible(command) for o in a.option_strings}
        # A switch would pick a format; `refine --json FILE` names where a file goes.
        switches = {o for a in _visible(command) if a.nargs == 0 for o in a.option_strings}
        assert not switches & {"--json", "--markdown", "--text", "--mermaid"}, command.prog
        if "--format" in options:
            formats[command.prog] = command
    assert {
        "micro-gastown analyze",
        "micro-gastown graph",
        "micro-gastown logs templates",
        "micro-gastown logs errors",
        "micro-gastown logs llm-calls",
    } <= set(formats)


def test_the_old_json_flag_says_what_it_is_called_now(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["logs", "errors", "--source", "file:/nonexistent.jsonl", "--json"]) == 2
    assert capsys.readouterr().err == (
        "micro-gastown logs errors: error: --json: this is --format json here "
        "(one way to pick a format)\n"
    )

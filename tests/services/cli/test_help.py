"""Every command's --help names the environment variables it reads and shows an example of its use."""

import argparse
import re

import pytest

from civicflow.services.cli import helptext
from civicflow.services.cli import service as cli
from civicflow.streams.settings import Settings


def _walk(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command name, parser) of every command and sub-command."""
    for action in parser._actions:  # argparse offers no public way to list sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield f"{prefix}{name}", child
                yield from _walk(child, prefix=f"{prefix}{name} ")


COMMANDS = list(_walk(cli.parser()))
VARIABLES = {f.validation_alias if isinstance(f.validation_alias, str) else name.upper()
             for name, f in Settings.model_fields.items()} | set(helptext.OTHER)


def test_every_command_has_help_text():
    assert {name for name, _ in COMMANDS} == set(helptext.COMMANDS) - {"civicflow"}


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_help_names_the_variables_and_shows_an_example(name, command):
    text = command.format_help()
    assert "environment variables:" in text
    listed = text.split("environment variables:", 1)[1].split("example", 1)[0]
    named = set(re.findall(r"^  ([A-Z][A-Z0-9_]+) ", listed, flags=re.M))
    assert named <= VARIABLES, f"unknown variables in the help of {name}: {named - VARIABLES}"
    assert named == set(helptext.COMMANDS[name][0])
    examples = re.findall(r"^  (?:[A-Z_]+=\S+ )*(civicflow \S+.*)$", text.split("example", 1)[1], flags=re.M)
    assert examples and all(e.startswith(f"civicflow {name.split()[0]}") for e in examples), text


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_example_parses(name, command):
    """The examples are real command lines: the parser accepts each one."""
    for example in helptext.COMMANDS[name][1]:
        words = example.split("#")[0].split()
        words = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S+", w)]
        if "|" in words:
            words = words[words.index("|") + 1:]
        cli.parser().parse_args(words[1:])


def test_the_top_level_help_shows_examples():
    text = cli.parser().format_help()
    assert "KAFKA_BOOTSTRAP_SERVERS" in text and "civicflow run" in text

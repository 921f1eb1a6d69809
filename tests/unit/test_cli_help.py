"""Every command and group has --help text (the command line is a contract)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from fieldkit.cli import cli


def walk(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*prefix, name))


def test_every_command_has_help_text():
    runner = CliRunner()
    commands = list(walk(cli))
    assert len(commands) >= 6
    for path, command in commands:
        assert command.help, f"{' '.join(path)} has no help text"
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output

"""Every command and option has --help text and a README entry (as sqlite-utils does)."""
import click
import pytest

import aidcal.cli as aidcal_cli
from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group=aidcal_cli.cli, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)
        else:
            yield " ".join(path), cmd


COMMANDS = dict(commands())


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_and_a_readme_section(name):
    cmd = COMMANDS[name]
    assert cmd.help, f"{name} has no help text"
    assert f"### `aidcal {name}" in README, f"README.md has no section for aidcal {name}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_and_is_in_the_readme(name):
    section = README.split(f"### `aidcal {name}", 1)[1].split("\n### ", 1)[0]
    for param in COMMANDS[name].params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"
            assert param.opts[0] in section, f"README's section on aidcal {name} does not mention {param.opts[0]}"


def test_global_db_option_is_documented():
    assert "--db URL" in README and "AIDCAL_DB" in README


def test_help_runs_for_every_command(offline):
    for name in COMMANDS:
        assert "Usage:" in offline(*name.split(), "--help").stdout

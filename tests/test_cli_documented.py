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


def test_every_command_is_run_by_some_test_in_its_default_output():
    """A command's default output (the table people read) breaks unseen unless a test runs it."""
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py"))
    tests += (ROOT / "tests" / "wheel_smoke.sh").read_text(encoding="utf-8")
    missing = []
    for name, cmd in COMMANDS.items():
        call = ", ".join(f'"{word}"' for word in name.split())
        lines = [line for line in tests.splitlines() if call in line or f"aidcal {name}" in line]
        formatted = any(p.name == "fmt" and not p.required for p in cmd.params)
        if not lines or formatted and all("--format" in line for line in lines):
            missing.append(name)
    assert not missing, f"no test runs these commands in their default output: {', '.join(missing)}"

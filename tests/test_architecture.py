"""The house rules, kept by the code itself: one import name, time and the
environment come in from the shell, layers import downwards only, and
docs/architecture.md names what is really there."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from aidcal.engine.models import SQLModel
from helpers import ROOT

OWN_NAMES = {"engine", "commands", "actions", "cli", "daemon"}  # the package's folders, never importable on their own
SOURCES = sorted(p for p in ROOT.rglob("*.py") if not {".venv", "build", "out"} & set(p.relative_to(ROOT).parts))
# What actions/ may use of the engine: data types and errors, never its decisions.
ACTIONS_MAY_IMPORT = {"aidcal.engine.errors", "aidcal.engine.vocabulary"}
# The shell: the only modules that read the clock and the environment, and wire the layers together.
SHELL = {"aidcal.cli", "aidcal.daemon", "aidcal.commands"}
CLOCK_AND_ENVIRONMENT = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("time", "time"),
                         ("time", "monotonic"), ("time", "perf_counter"),
                         ("os", "environ"), ("os", "getenv"), ("getpass", "getuser")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(("aidcal", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("aidcal", *parts))


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.append((node.lineno, name))
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return out


def under(folder: str) -> list[Path]:
    return [p for p in SOURCES if p.relative_to(ROOT).parts[0] == folder]


def test_every_import_of_our_code_names_the_aidcal_package():
    bad = [f"{p.relative_to(ROOT)}:{line}: import {name}" for p in SOURCES for line, name in imports(p)
           if name.split(".")[0] in OWN_NAMES]
    assert not bad, "import these as aidcal.…:\n" + "\n".join(bad)


def test_engine_and_actions_never_read_the_clock_or_the_environment():
    bad = []
    for path in under("engine") + under("actions"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed_lines = set()
        for node in ast.walk(tree):  # store.now() is the one stamp of a write's moment
            if isinstance(node, ast.FunctionDef) and path.name == "store.py" and node.name == "now":
                allowed_lines |= set(range(node.lineno, node.end_lineno + 1))
        aliases = {}  # `from datetime import datetime as dt` makes dt.now the clock too
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in {"datetime", "time", "os", "getpass"}:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = alias.name
                    if (node.module, alias.name) in CLOCK_AND_ENVIRONMENT:  # from os import environ
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.lineno not in allowed_lines:
                owner = aliases.get(node.value.id, node.value.id)
                if (owner, node.attr) in CLOCK_AND_ENVIRONMENT:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, "pass the moment or the setting in from the shell:\n" + "\n".join(bad)


def test_layers_import_downwards_only():
    bad = []
    for path in under("engine"):
        bad += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in imports(path)
                if name.startswith(("aidcal.actions", "aidcal.commands", "aidcal.cli", "aidcal.daemon"))]
    for path in under("actions"):
        bad += [f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in imports(path)
                if name.startswith(("aidcal.commands", "aidcal.cli", "aidcal.daemon"))
                or name.startswith("aidcal.engine") and name not in ACTIONS_MAY_IMPORT
                and not any(name.startswith(m + ".") for m in ACTIONS_MAY_IMPORT)]
    assert not bad, "engine imports no shell or actions; actions only engine's data types:\n" + "\n".join(bad)


def test_relative_imports_are_resolved_so_the_layer_check_sees_them():
    assert "aidcal.engine.models" in {name for _, name in imports(ROOT / "engine" / "status.py")}
    assert "aidcal.commands.shell" in {name for _, name in imports(ROOT / "commands" / "tasks.py")}


def test_tests_share_helpers_through_helpers_py_only():
    """Fixtures reach a test by name from conftest.py; anything else shared is imported
    from tests/helpers.py, never from conftest.py or from another test module."""
    bad = [f"{p.relative_to(ROOT)}:{line}: import {name}" for p in under("tests") for line, name in imports(p)
           if name.split(".")[0] == "conftest" or name.split(".")[0].startswith("test_")]
    assert not bad, "move what tests share into tests/helpers.py:\n" + "\n".join(bad)


def architecture_doc() -> str:
    return (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_architecture_doc_lists_every_table():
    doc = architecture_doc()
    data = doc.split("## Data", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+)`", data))
    tables = set(SQLModel.metadata.tables)
    assert tables - named == set(), "docs/architecture.md § Data does not name these tables"


def test_architecture_doc_lists_every_module_and_no_other():
    doc = architecture_doc()
    for folder in ("engine", "actions"):
        section = doc.split(f"## Modules ({folder}/)" if folder == "engine" else "## actions/", 1)[1].split("\n## ", 1)[0]
        named = set(re.findall(r"^\| `(\w+)(?:\.py|/)`", section, re.M))
        real = {p.stem for p in (ROOT / folder).glob("*.py") if p.stem != "__init__"}
        real |= {p.name for p in (ROOT / folder).iterdir() if p.is_dir() and (p / "__init__.py").exists()}
        assert named == real, f"docs/architecture.md {folder}/: missing {sorted(real - named)}, stale {sorted(named - real)}"


def test_each_module_of_acts_stays_small_enough_to_read():
    """The acts grow with every remote command: one module per concept, none past 400 lines."""
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in (ROOT / "engine" / "acts").glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400]
    assert not long, "split these into modules per concept:\n" + "\n".join(long)


def test_the_wheel_lists_every_package_of_the_source():
    """setuptools takes only the packages pyproject.toml names: a new folder left out installs without its code."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    real = {module_name(p) for p in SOURCES if p.name == "__init__.py" and p.relative_to(ROOT).parts[0] != "tests"}
    assert real - listed == set(), f"add to pyproject.toml's packages: {sorted(real - listed)}"

"""Shared fixtures: a throwaway database per test and a runner for whole commands.

Tests go through the CLI (what users run) or the engine's public functions,
always with explicit as-of dates; nothing patches the clock. What tests share
that is not a fixture (paths, rosters, the runner class) is in helpers.py.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest

# Tests read English words: the language is pinned (child processes inherit it); the tests of the
# Chinese interface unset it (tests/test_language.py).
os.environ["AIDCAL_LANG"] = "en"

from aidcal import i18n
from aidcal.engine import sealing
from helpers import BACKENDS, SMALL_ROSTER, Aidcal, write_adopted_from_new_year

# Personal data is sealed with a key kept outside the database: one key file for the whole run (child
# processes inherit it); the tests of the key commands make their own (tests/test_sealed_data.py).
KEY_FILE = Path(tempfile.mkdtemp(prefix="aidcal-keys-")) / "keys.json"
sealing.write(KEY_FILE, sealing.new_keys(), new=True)
os.environ["AIDCAL_KEY_FILE"] = str(KEY_FILE)


@pytest.fixture(autouse=True)
def english():
    """Engine functions called directly speak English too, whatever the test before chose
    (a command run in Chinese leaves the process speaking Chinese)."""
    i18n.use("en")


@pytest.fixture(scope="session")
def pg_server():
    from postgres import Server, binaries
    if binaries() is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    server = Server().start()
    yield server
    server.stop()


def sqlite_database(path: Path) -> str:
    """An empty SQLite database that exists, as CREATE DATABASE makes one on PostgreSQL
    (commands other than `calendar load` refuse to create a missing file)."""
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """Every test that uses the database runs on both backends."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "state.db")
        return
    server = request.getfixturevalue("pg_server")
    name = f"aidcal_{uuid.uuid4().hex[:12]}"
    yield server.create_database(name)
    server.drop_database(name)  # WITH (FORCE): closes what a test left open


@pytest.fixture
def another_db(request, db_url, tmp_path):
    """More empty databases on the backend of this test's db_url: another_db(label) -> URL."""
    made = []

    def make(label: str) -> str:
        if db_url.startswith("sqlite"):
            return sqlite_database(tmp_path / f"{label}.db")
        name = f"aidcal_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return request.getfixturevalue("pg_server").create_database(name)

    yield make
    for name in made:
        request.getfixturevalue("pg_server").drop_database(name)


@pytest.fixture
def sqlite_only(db_url):
    """For behaviour only SQLite has (WAL, busy_timeout, BEGIN IMMEDIATE)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite behaviour: PostgreSQL has row locks and MVCC instead")


@pytest.fixture
def aidcal(db_url, tmp_path) -> Aidcal:
    return Aidcal(db_url, tmp_path)


@pytest.fixture
def offline(tmp_path) -> Aidcal:
    """A runner for commands that need no database (checks of files, --help): such a
    test runs once, not once per backend, and fails if the command opens a database."""
    return Aidcal(None, tmp_path)


@pytest.fixture
def calendar_file(tmp_path) -> Path:
    return Path(write_adopted_from_new_year(tmp_path / "calendar.yaml"))


@pytest.fixture
def planned(aidcal, calendar_file) -> Aidcal:
    """The shipped 2021 plan loaded, no roster yet: every command but calendar load needs a plan."""
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    return aidcal


@pytest.fixture
def county(aidcal, calendar_file) -> Aidcal:
    """The shipped 2021 plan and a six-unit roster, loaded as of New Year's Day."""
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    return aidcal

"""Shared fixtures: a throwaway database per test and a runner for whole commands.

Tests go through the CLI (what users run) or the engine's public functions,
always with explicit as-of dates; nothing patches the clock.
"""
from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import aidcal.cli as aidcal_cli

ROOT = Path(__file__).resolve().parent.parent
HEADER_EN = "code,name,type,town,parent,contact,phone,active_from"


@pytest.fixture(scope="session")
def pg_server():
    from postgres import Server, binaries
    if binaries() is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Every test that uses the database runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"aidcal_{uuid.uuid4().hex[:12]}"
    yield server.create_database(name)
    server.drop_database(name)  # WITH (FORCE): closes what a test left open


class Aidcal:
    """Runs `aidcal --db URL …` in-process; returns click's Result."""

    def __init__(self, url: str, workdir: Path):
        self.url = url
        self.workdir = workdir

    def __call__(self, *args: str, ok: bool = True, env: dict | None = None):
        result = CliRunner().invoke(aidcal_cli.cli, ["--db", self.url, *map(str, args)],
                                    env={"AIDCAL_USER": "tester", **(env or {})}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}{result.stdout}"
        return result

    def file(self, name: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.workdir / name
        path.write_text(text, encoding=encoding)
        return path

    def engine(self):
        from aidcal.engine import store
        if getattr(self, "_engine", None) is None:
            self._engine = store.connect(self.url)
        return self._engine

    def scalar(self, sql: str):
        """One value; dates as ISO text on every backend (SQLite stores them as text)."""
        from sqlalchemy import text
        from aidcal.engine import store
        with store.reading(self.engine()) as conn:
            value = conn.execute(text(sql)).scalar()
        return value.isoformat() if isinstance(value, date) else value

    def dump(self) -> dict:
        """Every table's rows: to prove a failed command left the database as it was."""
        from sqlalchemy import text
        from aidcal.engine import store
        from aidcal.engine.models import SQLModel
        with store.reading(self.engine()) as conn:
            return {name: conn.execute(text(f"SELECT * FROM {name} ORDER BY 1")).all()
                    for name in SQLModel.metadata.tables}


@pytest.fixture
def sqlite_only(db_url):
    """For behaviour only SQLite has (WAL, busy_timeout, BEGIN IMMEDIATE)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite behaviour: PostgreSQL has row locks and MVCC instead")


@pytest.fixture
def aidcal(db_url, tmp_path) -> Aidcal:
    return Aidcal(db_url, tmp_path)


@pytest.fixture
def calendar_file(tmp_path) -> Path:
    return Path(shutil.copy(ROOT / "calendar.yaml", tmp_path / "calendar.yaml"))


SMALL_ROSTER = f"""{HEADER_EN}
S001,濉溪镇中心学校,小学|初中,濉溪镇,,王伟,13912345678,
S002,濉溪中学,高中,县直,,李芳,0561-6012345,
S003,濉溪第二中学,初中|高中,县直,,张敏,+86 139 1234 5679,
K001,濉溪镇中心幼儿园,幼儿园,濉溪镇,S001,刘静,13812345670,
V001,濉溪县职业技术学校,中职,县直,,陈强,13712345671,
N001,城东新区幼儿园,幼儿园,县直,,杨洋,13612345672,2021-03-01
"""


@pytest.fixture
def county(aidcal, calendar_file) -> Aidcal:
    """The shipped 2021 plan and a six-unit roster, loaded as of New Year's Day."""
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    return aidcal

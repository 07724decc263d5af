"""What the tests share that is not a fixture: paths, rosters, the in-process
runner, case files, bulk moves, and finishing a child process.

Fixtures live in conftest.py; tests import these from here (`from helpers import …`),
never from conftest.py or from one another.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from click.testing import CliRunner

import aidcal.cli as aidcal_cli

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]  # every database test runs on each (conftest.py's db_url)
HEADER_EN = "code,name,type,town,parent,contact,phone,active_from"

def shipped_plan_from_new_year() -> str:
    """The shipped plan as a county that has used aidcal since New Year's Day: without
    its ladder `start` (the plan's own date), so the tests see January's ladder."""
    text = (ROOT / "calendar.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("start: ")]
    assert len(lines) == len(text.splitlines()) - 1, "the shipped plan's ladder start line moved"
    return "".join(lines)


def write_adopted_from_new_year(path):
    path.write_text(shipped_plan_from_new_year(), encoding="utf-8")
    return path


SMALL_ROSTER = f"""{HEADER_EN}
S001,濉溪镇中心学校,小学|初中,濉溪镇,,王伟,13912345678,
S002,濉溪中学,高中,县直,,李芳,0561-6012345,
S003,濉溪第二中学,初中|高中,县直,,张敏,+86 139 1234 5679,
K001,濉溪镇中心幼儿园,幼儿园,濉溪镇,S001,刘静,13812345670,
V001,濉溪县职业技术学校,中职,县直,,陈强,13712345671,
N001,城东新区幼儿园,幼儿园,县直,,杨洋,13612345672,2021-03-01
"""


class Aidcal:
    """Runs `aidcal --db URL …` in-process; returns click's Result.

    With url None, a runner for commands that need no database (checks of files,
    --help): its --db names a file in a folder that does not exist, so a command
    that opens the database fails instead of quietly creating one.
    """

    def __init__(self, url: str | None, workdir: Path):
        self.url = url if url is not None else f"sqlite:///{workdir / 'no-database-here' / 'state.db'}"
        self.workdir = workdir

    def __call__(self, *args: str, ok: bool = True, env: dict | None = None):
        result = CliRunner().invoke(aidcal_cli.cli, ["--db", self.url, *map(str, args)],
                                    env={"AIDCAL_USER": "tester", "AIDCAL_LANG": "en", **(env or {})}, catch_exceptions=False)
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
            self._engine = store.connect(self.url, create=True)  # tests look into databases they set up
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


def database_at(url: str, revision: str, *statements: str) -> None:
    """A database built by the migrations up to `revision` (an older release's schema), then
    `statements` run on it in the same transaction: what an upgrade starts from."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text
    old = create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        for statement in statements:
            conn.execute(text(statement))
    old.dispose()


# ── case files (GB 11643 identity numbers) and bulk moves ─────────────────────
WEIGHTS, CHECK = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
CASE_HEADER = "姓名,身份证号,联系电话,学校代码,年级,班级,困难等级,银行卡号,是否住宿"


def make_id(seq: int, birth: str = "20050301") -> str:
    body = f"340621{birth}{seq:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


IDENT_HEADER = "姓名,身份证号,学校代码,困难等级,类别,承诺书,评议日期"


def identify(aidcal, unit, n, start=0, level="困难", year=2021, categories="", pledge="是"):
    """Identify students k = start … start+n-1 for the school year (教财〔2018〕16号), skipping those
    already identified that year; returns the import's output."""
    known = {r["id_number"] for r in json.loads(aidcal("identification", "list", "--year", year, "--format", "json").stdout)}
    from aidcal.engine.masking import mask_number
    lines = [IDENT_HEADER] + [f"学生{k},{make_id(k)},{unit},{level},{categories},{pledge},{year}-09-10"
                              for k in range(start, start + n) if mask_number(make_id(k)) not in known]
    if len(lines) == 1:
        return None
    return aidcal("identification", "import", aidcal.file(f"ident-{unit}-{year}-{start}.csv", "\n".join(lines) + "\n"),
                  "--year", year, "--as-of", f"{year}-09-15")


def case_file(aidcal, name, unit, n, start=0, level="困难", year=2021):
    """A case sheet of students k = start … start+n-1 at `unit`; with `year`, they are first identified
    for that school year at `level` (the programmes that pay by hardship require it)."""
    if year is not None:
        identify(aidcal, unit, n, start, level, year)
    lines = [CASE_HEADER] + [f"学生{k},{make_id(k)},139{k:08d},{unit},高二,{k % 3 + 1}班,{level},62220212345{k:08d},是"
                             for k in range(start, start + n)]
    return aidcal.file(name, "\n".join(lines) + "\n")


def bulk(aidcal, source, dest, as_of, unit="S002", programme="senior-grant", term="2021-autumn"):
    return json.loads(aidcal("cases", "advance", "--unit", unit, "--programme", programme, "--term", term,
                             "--from", source, "--to", dest, "--as-of", as_of, "--format", "json").stdout)


# ── child processes ───────────────────────────────────────────────────────────
def finished(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    """Wait for a child started with stderr=PIPE, reading the pipe while it runs
    (communicate), so a child that writes much never blocks on a full pipe.
    Returns (exit code, stderr text); a child still running after `timeout` is killed."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"{proc.args!r} still running after {timeout} s; stderr: {(err or b'').decode()[-2000:]}")
    return proc.returncode, (err or b"").decode(errors="replace")


def all_finished(procs: list[subprocess.Popen], timeout: float) -> list[tuple[int, str]]:
    """finished() for children running side by side: every pipe is read at once (one
    thread each), so no child blocks on a full pipe while another is waited for."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=len(procs)) as pool:
        return list(pool.map(lambda proc: finished(proc, timeout), procs))


# ── the bureau's server, and the CLI on a school's machine ────────────────────
AIDCAL = str(Path(sys.executable).parent / "aidcal")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real `aidcal serve` process on a free loopback port, started before the test and stopped after."""
    def __init__(self, url: str, workdir: Path):
        self.port = free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "server.log", "w")
        self.proc = subprocess.Popen([AIDCAL, "--db", url, "serve", "--port", str(self.port), "--max-body-mb", "2"],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.address}/health", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise AssertionError("aidcal serve did not start: " + (workdir / "server.log").read_text())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def remote(server, token, *args, ok=True, env=None):
    """The CLI on a school's machine: no database, only the server and a token."""
    result = CliRunner().invoke(aidcal_cli.cli, [str(a) for a in args], env={
        "AIDCAL_SERVER": server.address, "AIDCAL_TOKEN": token, "AIDCAL_LANG": "en", "AIDCAL_DB": None,
        "AIDCAL_USER": "typed-by-hand", **(env or {})}, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}{result.stdout}"
    return result


def refused(result, *words):
    """Exit 3 and one line, `refused: …`, naming `words`."""
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.stderr}{result.stdout}"
    line = result.stderr.strip()
    assert line.startswith("refused: ") and "\n" not in line and all(w in line for w in words), line


@dataclass
class Bureau:
    """A county's database, its running server and a token per user: what the remote tests drive."""
    county: Aidcal
    server: Server
    tokens: dict

    def remote(self, user, *args, ok=True):
        return remote(self.server, self.tokens[user], *args, ok=ok)

    def refused(self, user, *args, says=()):
        """Refused with exit 3 and one line, nothing written, and the refusal the audit log's latest entry."""
        before = self.county.dump()
        refused(self.remote(user, *args, ok=False), *says)
        after = self.county.dump()
        assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
        latest = json.loads(self.county("audit", "show", "--limit", "1", "--format", "json").stdout)[0]
        assert (latest["actor"], latest["outcome"]) == (user, "refused")

    def same(self, user, *args):
        """A read prints exactly what it prints on the bureau's database."""
        here = self.remote(user, *args)
        assert here.stdout == self.county(*args).stdout
        return here.stdout


@contextmanager
def served_county(request, workdir: Path, users, prepare):
    """A county with its 2021 plan and roster on the test's backend (`request.param`), `prepare(county)`
    run on it, a user per (name, role, scope) and a real `aidcal serve`: the Bureau the remote tests drive;
    its server stopped and its database dropped after them."""
    import sqlite3
    import uuid
    if request.param == "sqlite":
        sqlite3.connect(workdir / "state.db").close()
        url = f"sqlite:///{workdir / 'state.db'}"
    else:
        name = f"aidcal_{uuid.uuid4().hex[:12]}"
        url = request.getfixturevalue("pg_server").create_database(name)
    county = Aidcal(url, workdir)
    county("calendar", "load", write_adopted_from_new_year(workdir / "calendar.yaml"), "--as-of", "2021-01-01")
    county("units", "import", county.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    prepare(county)
    tokens = {user: county("users", "add", user, "--role", role, "--scope", scope).stdout.strip()
              for user, role, scope in users}
    server = Server(url, workdir)
    try:
        yield Bureau(county, server, tokens)
    finally:
        server.stop()
        if request.param != "sqlite":
            county.engine().dispose()
            request.getfixturevalue("pg_server").drop_database(name)

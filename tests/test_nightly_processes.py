"""Whole processes, as production runs them: a run killed inside its transaction
and run again, two runs started at the same moment, and the daemon with its lease;
on SQLite and on PostgreSQL. Bounded in count and time."""
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select, text

from aidcal.engine import store
from aidcal.engine.models import run
from helpers import BACKENDS, ROOT, Aidcal, all_finished, finished

AS_OF = "2021-07-15"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "AIDCAL_USER": "test"}


class County:
    """The example county, built once per backend; copies() hands out fresh databases of it."""

    def __init__(self, backend: str, folder, server=None):
        self.backend, self.folder, self.server = backend, folder, server
        self.name = f"county_{uuid.uuid4().hex[:12]}"
        self.url = f"sqlite:///{folder / 'state.db'}" if server is None else server.create_database(self.name)
        self.notify = folder / "notify.yaml"

    def copy(self, folder, made: list) -> str:
        """A fresh database with the county in it. On PostgreSQL a copy of the template
        database, which nobody may be connected to (so the tests never connect to it)."""
        if self.server is None:
            for name in os.listdir(self.folder):
                if name.startswith("state.db"):
                    shutil.copy(self.folder / name, folder / name)
            return f"sqlite:///{folder / 'state.db'}"
        name = f"aidcal_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return self.server.create_database(name, template=self.name)


@pytest.fixture(scope="module", params=BACKENDS)
def county_db(request, tmp_path_factory):
    """The example county (277 units) with its first half of 2021 recorded."""
    folder = tmp_path_factory.mktemp("county")
    county = County(request.param, folder, request.getfixturevalue("pg_server") if request.param == "postgresql" else None)
    aidcal = Aidcal(county.url, folder)
    aidcal("calendar", "load", ROOT / "calendar.yaml", "--as-of", "2021-01-01")
    aidcal("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    aidcal("tasks", "import", ROOT / "examples" / "completions.csv", "--as-of", AS_OF)
    engine = store.connect(county.url)
    with store.writing(engine) as conn:  # the run's lock row, as every run after the first finds it
        store.lock(conn, "escalation")
    engine.dispose()
    county.notify.write_text("channels:\n  - name: group\n    kind: wecom\n    url: http://127.0.0.1:9/none\n",
                             encoding="utf-8")
    yield county
    if county.server is not None:
        county.server.drop_database(county.name)


@pytest.fixture
def fresh(county_db, tmp_path):
    """fresh(folder) -> the URL of a new copy of the county; copies are dropped after the test."""
    made = []
    yield lambda folder=tmp_path: county_db.copy(folder, made)
    for name in made:
        county_db.server.drop_database(name)


def aidcal_process(url, notify, *args, stderr=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "aidcal.cli", "--db", url, "--notify", str(notify), *args], cwd=ROOT,
                            env=ENV, stdout=subprocess.DEVNULL, stderr=stderr)


def escalation(url, notify):
    return aidcal_process(url, notify, "escalate", "--as-of", AS_OF)


def succeeds(proc, timeout=60):
    code, err = finished(proc, timeout)
    assert code == 0, err[-2000:]


def snapshot(url):
    engine = store.connect(url)
    with store.reading(engine) as conn:
        steps = conn.execute(text("SELECT instance_id, rung, due_on, notice_id IS NOT NULL FROM ladder_step ORDER BY 1, 2")).all()
        messages = conn.execute(text("SELECT channel, recipient FROM outbox ORDER BY 1, 2")).all()
        items = conn.execute(text("SELECT count(*), count(DISTINCT instance_id) FROM notice_item")).one()
        runs = conn.execute(text("SELECT count(*) FROM run")).scalar()
    engine.dispose()
    return steps, messages, tuple(items), runs


def run_seconds(url) -> float:
    """How long the one recorded run took, from its start to its last write (both inside its transaction)."""
    engine = store.connect(url)
    with store.reading(engine) as conn:
        started, ended = conn.execute(select(run.c.started_at, run.c.finished_at)).one()
    engine.dispose()
    return (ended - started).total_seconds()


def inside_the_run(url) -> bool:
    """Whether an escalation is inside its transaction now, seen from another connection
    that tries, without waiting, to take what the run holds: on SQLite the write lock
    (BEGIN IMMEDIATE), on PostgreSQL the advisory lock of the section `escalation`."""
    if url.startswith("sqlite"):
        import sqlite3
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return True
        finally:
            conn.close()
    import psycopg
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        return not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (store.lock_key("escalation"),)).fetchone()[0]
    finally:
        conn.rollback()
        conn.close()


def until_inside(proc, url, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while not inside_the_run(url):
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before it was seen inside its transaction"
        assert time.monotonic() < deadline, f"the run was not seen inside its transaction within {timeout} s"
        time.sleep(0.005)


def killed_inside(url, notify, delay: float) -> bool:
    """Start a run, SIGKILL it `delay` seconds after it is seen inside its transaction;
    whether the kill landed inside (the run committed nothing)."""
    proc = escalation(url, notify)
    until_inside(proc, url)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    return snapshot(url)[3] == 0


def test_a_run_killed_inside_its_transaction_and_run_again_ends_the_same(county_db, fresh, tmp_path):
    url, notify = fresh(), county_db.notify
    proc = escalation(url, notify)  # the reference run; the probe must see it inside its transaction too
    until_inside(proc, url)
    succeeds(proc)
    expected = snapshot(url)
    assert expected[0] and expected[1] == [("group", "*")] and expected[3] == 1
    window = run_seconds(url)  # a lower bound of how long a run stays inside its transaction
    rng = random.Random(7)
    for attempt in range(3):
        delay = rng.uniform(0, 0.5) * window  # a random point in the first half of the transaction
        for tries in range(5):  # a kill that came after the commit (a descheduled test) proves nothing: again, at once
            folder = tmp_path / f"kill{attempt}-{tries}"
            folder.mkdir()
            url = fresh(folder)
            if killed_inside(url, notify, delay if tries == 0 else 0):
                break
        else:
            pytest.fail(f"attempt {attempt}: five kills in a row landed after the run's commit")
        assert snapshot(url) == ([], [], (0, 0), 0), f"attempt {attempt}: the killed run left something behind"
        succeeds(escalation(url, notify))
        assert snapshot(url) == expected, f"attempt {attempt}"


def test_two_runs_started_together_take_each_step_once(county_db, fresh):
    url, notify = fresh(), county_db.notify
    results = all_finished([escalation(url, notify) for _ in range(2)], timeout=60)
    assert [code for code, _ in results] == [0, 0], [err[-2000:] for _, err in results]
    steps, messages, (items, distinct_items), runs = snapshot(url)
    assert runs == 2
    assert len(steps) == len(set((s[0], s[1]) for s in steps)) and items == distinct_items
    engine = store.connect(url)
    with store.reading(engine) as conn:
        taken = sorted(conn.execute(text("SELECT count(s.id) FROM run r LEFT JOIN ladder_step s ON s.run_id = r.id GROUP BY r.id")).scalars())
        notices = conn.execute(text("SELECT count(*) FROM notice")).scalar()
    engine.dispose()
    assert taken[0] == 0 and taken[1] == len(steps) > 0  # one run took everything, the other nothing
    assert messages == [("group", "*")] and notices == 1


def test_the_daemon_runs_a_catch_up_holds_its_lease_and_stops_on_sigterm(county_db, fresh, tmp_path):
    url, notify = fresh(), county_db.notify
    log = tmp_path / "daemon.log"
    with open(tmp_path / "daemon.stderr", "wb") as daemon_stderr:  # a file: a long-lived child never fills a pipe
        daemon = aidcal_process(url, notify, "engine", "run", "--at", "03:00", "--log-file", str(log), stderr=daemon_stderr)
    engine = store.connect(url)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.reading(engine) as conn:
                if conn.execute(text("SELECT count(*) FROM run WHERE outcome = 'ok'")).scalar():
                    break
            assert daemon.poll() is None, (tmp_path / "daemon.stderr").read_text(errors="replace")[-2000:]
            time.sleep(0.3)
        else:
            pytest.fail("no catch-up run within 30 s")
        code, err = finished(aidcal_process(url, notify, "engine", "run"), 30)
        assert code == 2 and "another aidcal daemon holds the scheduler lease" in err
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.send_signal(signal.SIGTERM)  # a second SIGTERM during shutdown is ignored quietly
        assert daemon.wait(30) == 0, (tmp_path / "daemon.stderr").read_text(errors="replace")[-2000:]
        assert "Traceback" not in (tmp_path / "daemon.stderr").read_text(errors="replace")
    with store.reading(engine) as conn:
        assert conn.execute(text("SELECT holder FROM lease WHERE name = 'scheduler'")).scalar() == ""
    engine.dispose()
    events = log.read_text(encoding="utf-8")
    assert '"event": "escalation done"' in events and '"event": "daemon stopped"' in events

"""Whole processes, as production runs them: a run killed at random points and
run again, two runs started at the same moment, and the daemon with its lease.
Bounded in count and time."""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from aidcal.engine import store
from conftest import ROOT, Aidcal

AS_OF = "2021-07-15"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "AIDCAL_USER": "test"}


@pytest.fixture(scope="module")
def county_db(tmp_path_factory):
    """The example county (277 units) with its first half of 2021 recorded."""
    folder = tmp_path_factory.mktemp("county")
    aidcal = Aidcal(f"sqlite:///{folder / 'state.db'}", folder)
    aidcal("calendar", "load", ROOT / "calendar.yaml", "--as-of", "2021-01-01")
    aidcal("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    aidcal("tasks", "import", ROOT / "examples" / "completions.csv", "--as-of", AS_OF)
    notify = folder / "notify.yaml"
    notify.write_text("channels:\n  - name: group\n    kind: wecom\n    url: http://127.0.0.1:9/none\n", encoding="utf-8")
    return folder


def fresh(county_db, tmp_path):
    for name in os.listdir(county_db):
        shutil.copy(county_db / name, tmp_path / name)
    return f"sqlite:///{tmp_path / 'state.db'}", tmp_path / "notify.yaml"


def aidcal_process(url, notify, *args):
    return subprocess.Popen([sys.executable, "-m", "aidcal.cli", "--db", url, "--notify", str(notify), *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def snapshot(url):
    with store.reading(store.connect(url)) as conn:
        steps = conn.execute(text("SELECT instance_id, rung, due_on, notice_id IS NOT NULL FROM ladder_step ORDER BY 1, 2")).all()
        messages = conn.execute(text("SELECT channel, recipient FROM outbox ORDER BY 1, 2")).all()
        items = conn.execute(text("SELECT count(*), count(DISTINCT instance_id) FROM notice_item")).one()
    return steps, messages, tuple(items)


def test_a_run_killed_at_random_points_and_run_again_ends_the_same(county_db, tmp_path):
    url, notify = fresh(county_db, tmp_path)
    assert aidcal_process(url, notify, "escalate", "--as-of", AS_OF).wait(60) == 0
    expected = snapshot(url)
    assert expected[0] and expected[1] == [("group", "*")]
    rng = random.Random(7)
    for attempt in range(3):
        folder = tmp_path / f"kill{attempt}"
        folder.mkdir()
        url, notify = fresh(county_db, folder)
        proc = aidcal_process(url, notify, "escalate", "--as-of", AS_OF)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert aidcal_process(url, notify, "escalate", "--as-of", AS_OF).wait(60) == 0
        assert snapshot(url) == expected, f"attempt {attempt}"


def test_two_runs_started_together_take_each_step_once(county_db, tmp_path):
    url, notify = fresh(county_db, tmp_path)
    procs = [aidcal_process(url, notify, "escalate", "--as-of", AS_OF) for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    steps, messages, (items, distinct_items) = snapshot(url)
    assert len(steps) == len(set((s[0], s[1]) for s in steps)) and items == distinct_items
    with store.reading(store.connect(url)) as conn:
        taken = sorted(conn.execute(text("SELECT count(s.id) FROM run r LEFT JOIN ladder_step s ON s.run_id = r.id GROUP BY r.id")).scalars())
        notices = conn.execute(text("SELECT count(*) FROM notice")).scalar()
    assert taken[0] == 0 and taken[1] == len(steps)  # one run took everything, the other nothing
    assert messages == [("group", "*")] and notices == 1


def test_the_daemon_runs_a_catch_up_holds_its_lease_and_stops_on_sigterm(county_db, tmp_path):
    url, notify = fresh(county_db, tmp_path)
    log = tmp_path / "daemon.log"
    daemon = aidcal_process(url, notify, "engine", "run", "--at", "03:00", "--log-file", str(log))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.reading(store.connect(url)) as conn:
                if conn.execute(text("SELECT count(*) FROM run WHERE outcome = 'ok'")).scalar():
                    break
            time.sleep(0.3)
        else:
            pytest.fail("no catch-up run within 30 s")
        second = aidcal_process(url, notify, "engine", "run")
        assert second.wait(30) == 2
        assert "another aidcal daemon holds the scheduler lease" in second.stderr.read().decode()
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    with store.reading(store.connect(url)) as conn:
        assert conn.execute(text("SELECT holder FROM lease WHERE name = 'scheduler'")).scalar() == ""
    events = log.read_text(encoding="utf-8")
    assert '"event": "escalation done"' in events and '"event": "daemon stopped"' in events

"""Writers take the SQLite write lock up front; readers never take it; a failed
write leaves nothing behind."""
import json
import threading
import time

import pytest
from sqlalchemy import text

from aidcal.engine import store


def test_reading_commands_work_while_a_writer_holds_the_lock(county):
    engine = store.connect(county.url)
    with store.writing(engine) as conn:  # BEGIN IMMEDIATE: the write lock is held from here
        conn.execute(text("UPDATE unit SET name = name || '' WHERE code = 'S001'"))
        rows = json.loads(county("overdue", "--as-of", "2021-03-02", "--format", "json").stdout)
        assert rows and {r["unit"] for r in rows} >= {"S001"}


def test_a_second_writer_waits_for_the_first_to_commit_instead_of_failing(sqlite_only, county):
    """The second writer's BEGIN IMMEDIATE returns only after the first writer has
    committed: it saw the first's change and waited at least as long as the first held on."""
    hold = 0.5  # seconds the first writer keeps the lock after the second has asked for it
    first = store.connect(county.url)
    asked, seen = threading.Event(), {}
    committing = threading.Event()  # set just before the first commits: the second cannot get in earlier

    def second_writer():
        engine = store.connect(county.url)
        seen["asked_at"] = time.monotonic()
        asked.set()
        with store.writing(engine) as conn:  # blocks in BEGIN IMMEDIATE (busy_timeout) while the first holds the lock
            seen["in_at"] = time.monotonic()
            seen["first_was_committing"] = committing.is_set()
            seen["name"] = conn.execute(text("SELECT name FROM unit WHERE code = 'S001'")).scalar()
            conn.execute(text("UPDATE unit SET contact = '第二' WHERE code = 'S001'"))
        engine.dispose()

    with store.writing(first) as conn:
        conn.execute(text("UPDATE unit SET name = '第一' WHERE code = 'S001'"))
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert asked.wait(10)
        time.sleep(hold)
        assert "in_at" not in seen, "the second writer got in while the first held the write lock"
        committing.set()
    thread.join(30)
    assert not thread.is_alive()
    assert seen["first_was_committing"] and seen["name"] == "第一"  # it began after the first's commit
    assert seen["in_at"] - seen["asked_at"] >= hold  # and so it waited (at most busy_timeout, 30 s)
    assert county.scalar("SELECT name || contact FROM unit WHERE code = 'S001'") == "第一第二"  # both writes kept
    first.dispose()


def test_a_writer_that_cannot_get_the_lock_in_time_gives_up_cleanly_at_begin(sqlite_only, county, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    first, second = store.connect(county.url), store.connect(county.url)
    with store.writing(first):
        started = time.monotonic()
        with pytest.raises(Exception, match="locked"):
            with store.writing(second):  # waits busy_timeout, then gives up before any work
                pass
        assert time.monotonic() - started >= 0.2  # it did wait busy_timeout before giving up
    with store.writing(second) as conn:  # once the first commits, the second gets in
        conn.execute(text("SELECT 1"))


def test_an_error_inside_a_write_rolls_everything_back(county):
    engine = store.connect(county.url)
    before = county.dump()
    with pytest.raises(RuntimeError):
        with store.writing(engine) as conn:
            conn.execute(text("DELETE FROM task_instance"))
            raise RuntimeError("crash after the first statement")
    assert county.dump() == before

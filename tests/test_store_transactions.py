"""Writers take the SQLite write lock up front; readers never take it; a failed
write leaves nothing behind."""
import json

import pytest
from sqlalchemy import text

from aidcal.engine import store


def test_reading_commands_work_while_a_writer_holds_the_lock(county):
    engine = store.connect(county.url)
    with store.writing(engine) as conn:  # BEGIN IMMEDIATE: the write lock is held from here
        conn.execute(text("UPDATE unit SET name = name || '' WHERE code = 'S001'"))
        rows = json.loads(county("overdue", "--as-of", "2021-03-02", "--format", "json").stdout)
        assert rows and {r["unit"] for r in rows} >= {"S001"}


def test_a_second_writer_waits_instead_of_failing(county, monkeypatch, sqlite_only):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    first, second = store.connect(county.url), store.connect(county.url)
    with store.writing(first):
        with pytest.raises(Exception, match="locked"):
            with store.writing(second):  # waits busy_timeout for the lock, then gives up cleanly
                pass
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

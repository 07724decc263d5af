"""db upgrade and db copy: a county moves from SQLite to PostgreSQL with nothing lost."""
import json

from sqlalchemy import text

from aidcal.engine import store
from helpers import ROOT, Aidcal


def test_a_shared_server_is_upgraded_only_on_purpose(pg_server, tmp_path):
    url = pg_server.create_database("old_county")
    engine = store.connect(url)
    with store.writing(engine) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
        conn.execute(text("DROP TABLE identification_review; DROP TABLE rule_file; DROP TABLE case_document; "
                          "DROP TABLE case_event; DROP TABLE aid_case; DROP TABLE identification; "
                          "DROP TABLE audit; DROP FUNCTION audit_append_only(); DROP FUNCTION audit_linked_once(); "
                          "DROP TABLE app_user; DROP TABLE seal_key"))
        conn.execute(text("ALTER TABLE task DROP COLUMN completes_from"))
        conn.execute(text("ALTER TABLE plan DROP COLUMN scope; ALTER TABLE unit DROP COLUMN authority"))
        conn.execute(text("ALTER TABLE notice DROP COLUMN discarded_on, DROP COLUMN discard_reason; "
                          "ALTER TABLE notice_item DROP COLUMN dropped_on, DROP COLUMN drop_reason, DROP COLUMN dropped_by; "
                          "ALTER TABLE plan DROP COLUMN evidence_max_mb, DROP COLUMN notice_style"))
    engine.dispose()
    aidcal = Aidcal(url, tmp_path)
    result = aidcal("calendar", "list", ok=False)
    assert result.exit_code == 2 and "run: aidcal --db URL db upgrade" in result.stderr
    assert f"database schema at {store.SCHEMA_HEAD}" in aidcal("db", "upgrade").stdout
    aidcal("calendar", "load", ROOT / "calendar.yaml", "--as-of", "2021-01-01")
    assert aidcal.scalar("SELECT count(*) FROM rule_file") == 6  # the upgrade stored the shipped rules


def test_copy_moves_a_county_from_sqlite_to_postgresql(tmp_path, pg_server):
    county = Aidcal(f"sqlite:///{tmp_path / 'state.db'}", tmp_path)
    county("calendar", "load", ROOT / "calendar.yaml", "--as-of", "2021-01-01")
    county("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    county("tasks", "import", ROOT / "examples" / "completions.csv", "--as-of", "2021-07-15")
    county("escalate", "--as-of", "2021-03-01")
    target = pg_server.create_database("copied_county")
    out = county("db", "copy", "--to", target).stdout
    assert "copied" in out and "task_instance" in out and "evidence_blob 3" in out
    copied = Aidcal(target, tmp_path)
    overdue = ["overdue", "--as-of", "2021-07-15", "--format", "json"]
    assert json.loads(copied(*overdue).stdout) == json.loads(county(*overdue).stdout)
    copied("tasks", "done", "--unit", "3406200001", "system-update", "--period", "2021-07", "--as-of", "2021-07-16")
    assert copied("escalate", "--as-of", "2021-03-01", "--format", "json").stdout.strip() == "[]"  # same steps: none new
    again = county("db", "copy", "--to", target, ok=False)
    assert again.exit_code == 2 and "not empty" in again.stderr


def test_a_copy_to_sqlite_links_the_entries_its_source_left_unlinked_below_its_head(tmp_path, pg_server):
    """On PostgreSQL a lower entry id may commit after a higher one was linked; SQLite finds its
    unlinked entries past the head's id, so the copy links such an entry itself."""
    from datetime import date

    from aidcal.engine import access, audit, service
    county = Aidcal(pg_server.create_database("late_county"), tmp_path)
    county("calendar", "load", ROOT / "calendar.yaml", "--as-of", "2021-01-01")
    county("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    with store.writing(county.engine()) as conn:
        audit.append(conn, audit.Entry("local:tester", "tasks.waive", "3406200001"))  # its id taken now, committed last
        service.call(county.engine(), access.operator("tester"), "tasks.done",
                     dict(unit="3406200002", task="system-update", period="2021-02", as_of="2021-02-19"), date(2026, 12, 6))
        assert audit.link(county.engine()) == 1
    by_hand = store.connect(f"sqlite:///{tmp_path / 'by_hand.db'}", create=True)
    store.copy(county.engine(), by_hand)  # as an older release's `db copy` left it, or one whose last step failed
    assert audit.link(by_hand) == 0  # below the head's id: past what a write's linker reads
    assert audit.link(by_hand, everywhere=True) == 1  # the nightly run's
    target = f"sqlite:///{tmp_path / 'copied.db'}"
    county("db", "copy", "--to", target)
    copied = Aidcal(target, tmp_path)
    assert copied.scalar("SELECT count(*) FROM audit WHERE seq IS NULL") == 0
    assert copied.scalar("SELECT min(id) FROM audit WHERE seq = (SELECT max(seq) FROM audit)") < \
        copied.scalar("SELECT max(id) FROM audit")  # the late entry, linked last
    assert "intact" in copied("audit", "verify", "--data").stdout

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

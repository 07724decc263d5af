"""The schema is versioned: migrations build exactly the models, and an older
database is upgraded in place with nothing lost."""
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from aidcal.engine import store
from aidcal.engine.models import SQLModel
from helpers import ROOT, Aidcal, database_at


def test_store_knows_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == store.SCHEMA_HEAD


def test_migrations_build_exactly_the_models(db_url):
    engine = store.connect(db_url, create=True)

    def on_this_backend(item, _name, _type, _reflected, _compare_to) -> bool:
        """An index the models keep for another backend only (`ddl_if`) is no difference here."""
        ddl_if = getattr(item, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, engine.dialect.name)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": on_this_backend})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_a_new_database_is_in_wal_mode_at_head(db_url, sqlite_only):
    engine = store.connect(db_url, create=True)
    assert store.schema_version(engine) == store.SCHEMA_HEAD
    with store.reading(engine) as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unknown_newer_schema_is_refused_with_one_line(planned):
    aidcal = planned
    with store.writing(aidcal.engine()) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='9999'"))
    result = aidcal("calendar", "list", ok=False)
    assert result.exit_code == 2 and "database schema '9999' is unknown" in result.stderr


def test_a_database_of_the_first_release_upgrades_in_place_with_nothing_lost(tmp_path):
    """A state.db at schema 0001 (the first release) with a loaded year and a completion."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database_at(url, "0001",
                "INSERT INTO plan VALUES (1,'340621','濉溪县教育局',2021,'calendar.yaml','Asia/Shanghai','forward',"
                "'[]','[]','2021-01-01 00:00:00','old')",
                "INSERT INTO unit VALUES (1,'S1','一校','小学',2,'镇','','王','13912345678',NULL,NULL,'2021-01-01 00:00:00','old')",
                "INSERT INTO task VALUES (1,1,'report','月报',63,NULL,NULL)",
                "INSERT INTO occurrence VALUES (1,1,'2021-01','2021-01-28','2021-01-28',NULL)",
                "INSERT INTO task_instance VALUES (1,1,1,'2021-01-28',0,'2021-01-20','2021-01-20 08:00:00','王',NULL,NULL,NULL)")
    engine = store.connect(url)
    assert store.schema_version(engine) == store.SCHEMA_HEAD
    with store.reading(engine) as conn:
        assert conn.execute(text("SELECT done_on FROM task_instance")).scalar() == "2021-01-20"
        assert conn.execute(text("SELECT sign_off FROM plan")).scalar() == 1
        assert '"notice": 3' in conn.execute(text("SELECT ladder FROM task")).scalar()


def test_a_state_db_made_by_the_first_release_upgrades_in_place(tmp_path):
    """tests/data/state-0001.db was written by the first release's own commands (schema 0001):
    a plan, three units, a completion on time, one late with evidence, an extension, a waiver."""
    import json
    import shutil
    shutil.copy(ROOT / "tests" / "data" / "state-0001.db", tmp_path / "state.db")
    old = Aidcal(f"sqlite:///{tmp_path / 'state.db'}", tmp_path)
    assert old.scalar("SELECT version_num FROM alembic_version") == store.SCHEMA_HEAD
    statuses = {(u, k, p): r["status"] for u in ("S001", "S002", "K001") for (k, p), r in {
        (r["task"], r["period"]): r for r in json.loads(old("tasks", "list", "--unit", u, "--as-of", "2021-04-01",
                                                            "--format", "json").stdout)}.items()}
    assert statuses[("S001", "system-update", "2021-01")] == "done"
    assert statuses[("S002", "monthly-report", "2021-01")] == "done_late"
    assert statuses[("K001", "system-update", "2021-02")] == "waived"
    assert old.scalar("SELECT i.due FROM task_instance i JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON "
                      "o.id = i.occurrence_id JOIN task t ON t.id = o.task_id WHERE u.code = 'K001' "
                      "AND t.key = 'annual-summary'") == "2021-03-15"
    assert old.scalar("SELECT count(*) FROM evidence") == 1
    # a single-plan database: every unit answers to that plan's authority, the plan keeps applying to all of them
    assert old.scalar("SELECT scope FROM plan") == "340621"
    assert old.scalar("SELECT count(*) FROM unit WHERE authority <> '340621'") == 0
    assert old.scalar("SELECT count(*) FROM unit") == 4
    assert old("escalate", "--as-of", "2021-02-01", "--format", "json").stdout.startswith("[")  # new features work on it


def test_an_upgrade_that_would_leave_dangling_rows_is_refused_and_changes_nothing(tmp_path):
    """A damaged file (a case event whose case is gone, written with foreign keys off) is not
    carried into a rebuilt schema: the upgrade stops with one line and the file stays at 0011."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database_at(url, "0011", "INSERT INTO case_event (id, case_id, \"trigger\", from_state, to_state, on_date, at, by, reason) "
                             "VALUES (1, 999, 'approve', 'publicity', 'approved', '2021-10-08', '2021-10-08 08:00:00', 'x', '')")
    result = Aidcal(url, tmp_path)("calendar", "list", ok=False)
    assert result.exit_code == 2 and "1 rows pointing at rows that are gone (first in table case_event)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert store.schema_version(create_engine(url)) == "0011"  # a plain engine: store.connect would upgrade

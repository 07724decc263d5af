"""The schema is versioned: migrations build exactly the models, and an older
database is upgraded in place with nothing lost."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config
from sqlalchemy import text

from engine import store
from engine.models import SQLModel
from conftest import ROOT


def test_store_knows_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == store.SCHEMA_HEAD


def test_migrations_build_exactly_the_models(db_url):
    engine = store.connect(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def test_a_new_database_is_in_wal_mode_at_head(db_url):
    engine = store.connect(db_url)
    assert store.schema_version(engine) == store.SCHEMA_HEAD
    with store.reading(engine) as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unknown_newer_schema_is_refused_with_one_line(aidcal):
    aidcal("calendar", "list")
    with store.writing(aidcal.engine()) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='9999'"))
    result = aidcal("calendar", "list", ok=False)
    assert result.exit_code == 2 and "database schema '9999' is unknown" in result.stderr

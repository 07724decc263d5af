"""driver.Prepared compiles statements itself: it reads Compiled.binds,
positiontup and construct_params, which are SQLAlchemy internals. pyproject
pins SQLAlchemy below 2.2; this test fails loudly when a release changes them.
And the audit digest sees what a write inserted only where the driver is reached
through engine/driver.py (or store's transactions and locks)."""
import re

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from aidcal.engine.models import instance as i


def test_the_compiler_internals_driver_prepared_reads_are_there_on_both_dialects():
    statement = select(i.c.id).where(i.c.unit_id == bindparam("unit"), i.c.due >= bindparam("due"))
    for dialect, positional in ((sqlite.dialect(), True), (postgresql.psycopg.dialect(), False)):
        compiled = statement.compile(dialect=dialect)
        assert set(compiled.binds) == {"unit", "due"}, "Compiled.binds changed"
        values = compiled.construct_params({"unit": 7, "due": "2021-05-20"})
        assert values == {"unit": 7, "due": "2021-05-20"}, "Compiled.construct_params changed"
        if positional:
            assert list(compiled.positiontup) == ["unit", "due"], "Compiled.positiontup changed"
        else:
            assert not compiled.positiontup, "psycopg is no longer named-parameter"


def test_only_the_store_and_the_driver_module_reach_the_driver_connection():
    """A write straight on the driver elsewhere would insert rows the audited write's digest never sees."""
    from helpers import ROOT
    reach = re.compile(r"dbapi_connection|driver_connection|raw_connection|\.connection\.(cursor|execute)")
    places = [str(path.relative_to(ROOT)) for path in sorted(ROOT.rglob("*.py"))
              if not {"tests", "bench", "tools", ".venv", "build"} & set(path.relative_to(ROOT).parts)
              and reach.search(path.read_text(encoding="utf-8"))]
    assert places == ["engine/driver.py", "engine/store.py"]

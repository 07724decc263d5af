"""store.Prepared compiles statements itself: it reads Compiled.binds,
positiontup and construct_params, which are SQLAlchemy internals. pyproject
pins SQLAlchemy below 2.2; this test fails loudly when a release changes them."""
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from aidcal.engine.models import instance as i


def test_the_compiler_internals_store_prepared_reads_are_there_on_both_dialects():
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

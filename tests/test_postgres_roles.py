"""A city's PostgreSQL as docs/deployment.md sets it up: the database owned by an owner role
that runs `db upgrade`, the server's application role granted what the document grants. The
application role does the daily work, and can neither change nor delete an audit entry nor
remove the trigger that guards them: only the owner could, and `audit verify` would see it."""
import re
import uuid

import psycopg
import pytest

from helpers import ROOT, SMALL_ROSTER, Aidcal, write_adopted_from_new_year


def documented_grants(owner: str, app: str) -> list[str]:
    """The GRANT and REVOKE statements of docs/deployment.md, for these roles: the test runs what
    a bureau copies from the document."""
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = doc.split("### PostgreSQL: an owner role and an application role", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statements = [line.split("--", 1)[0].strip() for line in block.splitlines()]
    chosen = [s for s in statements if re.match(r"(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b", s)]
    assert chosen, "docs/deployment.md shows no grants"
    return [s.replace("aidcal_app", app).replace("aidcal_owner", owner) for s in chosen]


@pytest.fixture
def roles(pg_server, tmp_path):
    tag = uuid.uuid4().hex[:8]
    owner, app, name = f"owner_{tag}", f"app_{tag}", f"aidcal_{tag}"
    admin = f"host=127.0.0.1 port={pg_server.port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN")
        conn.execute(f"CREATE ROLE {app} LOGIN")
        conn.execute(f'CREATE DATABASE "{name}" OWNER {owner}')
    url = f"postgresql+psycopg://{{}}@127.0.0.1:{pg_server.port}/{name}"
    yield Aidcal(url.format(owner), tmp_path), Aidcal(url.format(app), tmp_path), owner, app, name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f"DROP ROLE {app}")
        conn.execute(f"DROP ROLE {owner}")


def test_the_application_role_works_but_cannot_touch_the_audit(roles, pg_server, tmp_path):
    as_owner, as_app, owner, app, name = roles
    as_owner("db", "upgrade")
    with psycopg.connect(f"host=127.0.0.1 port={pg_server.port} user={owner} dbname={name}", autocommit=True) as conn:
        for statement in documented_grants(owner, app):
            conn.execute(statement)
    calendar = write_adopted_from_new_year(tmp_path / "calendar.yaml")
    as_app("calendar", "load", calendar, "--as-of", "2021-01-01")  # the daily work, as the server does it
    as_app("units", "import", as_app.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    proof = tmp_path / "月报.pdf"
    proof.write_bytes(b"%PDF-1.4 report")
    as_app("tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-02", "--as-of", "2021-02-26",
           "--evidence", proof)
    with psycopg.connect(f"host=127.0.0.1 port={pg_server.port} user={app} dbname={name}", autocommit=True) as conn:
        for statement in ("UPDATE audit SET summary = 'nothing happened'", "DELETE FROM audit", "TRUNCATE audit",
                          "ALTER TABLE audit DISABLE TRIGGER audit_append_only", "DROP TRIGGER audit_append_only ON audit",
                          "ALTER TABLE audit DISABLE TRIGGER audit_linked_once", "DROP TRIGGER audit_linked_once ON audit",
                          "DROP TABLE audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        for statement in ("UPDATE audit SET hash = 'x'", "UPDATE audit SET seq = NULL, prev = '', hash = ''"):
            with pytest.raises(psycopg.errors.RaiseException, match="never changed"):  # granted for linking only
                conn.execute(statement)
        entries = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert entries >= 3 and f"audit chain intact: {entries} entries" in as_app("audit", "verify").stdout


def test_without_the_linking_grant_a_write_stands_and_says_its_entry_waits(roles, pg_server, tmp_path):
    """An upgrade past 0014 whose bureau has not yet granted the linking (docs/deployment.md §2):
    the school's work is recorded, the command says its entry is not linked, and once the grant is
    given the next command links it into a chain that verifies."""
    as_owner, as_app, owner, app, name = roles
    as_owner("db", "upgrade")
    owner_dsn = f"host=127.0.0.1 port={pg_server.port} user={owner} dbname={name}"
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        for statement in documented_grants(owner, app):
            if "UPDATE (seq, prev, hash, digest)" not in statement:
                conn.execute(statement)
    calendar = write_adopted_from_new_year(tmp_path / "calendar.yaml")
    result = as_app("calendar", "load", calendar, "--as-of", "2021-01-01")
    assert "warning: this command's audit entries are not linked into the chain yet (" in result.stderr
    assert "permission denied" in result.stderr and as_app.scalar("SELECT count(*) FROM plan") == 1
    assert "1 newer entries are not linked into the chain yet" in as_app("audit", "verify").stdout
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute(f"GRANT UPDATE (seq, prev, hash, digest) ON audit TO {app}")
    as_app("units", "import", as_app.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    out = as_app("audit", "verify").stdout
    assert "audit chain intact: 2 entries" in out and "not linked" not in out

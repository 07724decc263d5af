"""The audit record no one can quietly edit: every write leaves one chained entry, and
`audit verify` names the first entry edited, deleted or inserted behind aidcal's back (here
with plain SQL, as someone with the database file or psql would), a cut tail (against a head
kept outside), and rows the latest entries wrote that were changed since."""
import json
from datetime import date

import pytest
from sqlalchemy import text

from aidcal.engine import access, audit, inserted, service, store


def _entries(aidcal):
    return json.loads(aidcal("audit", "show", "--limit", "0", "--format", "json").stdout)


def _busy(county):
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-01-19")
    county("tasks", "reopen", "--unit", "S001", "system-update", "--period", "2021-01", "--reason", "错报",
           "--as-of", "2021-01-20")
    county("tasks", "done", "--unit", "S002", "system-update", "--period", "2021-01", "--as-of", "2021-01-20")
    county("escalate", "--as-of", "2021-02-01")


def _behind_aidcals_back(aidcal, *sql):
    """What a person with the file or psql does: first the guard trigger, then the edit."""
    with store.writing(aidcal.engine()) as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_no_update"))
            conn.execute(text("DROP TRIGGER audit_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER USER"))
        for statement in sql:
            conn.execute(text(statement))


def test_every_write_leaves_one_entry_and_the_chain_verifies(county):
    _busy(county)
    entries = _entries(county)
    assert [e["action"] for e in entries][-4:] == ["tasks.done", "tasks.reopen", "tasks.done", "escalate"]
    assert all(e["actor"].startswith("local:") for e in entries)  # local commands act as the operator
    done = entries[-4]
    assert done["object"] == "S001" and done["rows"] == 1 and "system-update" in done["summary"]
    result = county("audit", "verify", "--data")
    assert f"{len(entries)} entries; head {entries[-1]['hash']}" in result.stdout
    assert county("audit", "verify", "--head", entries[2]["hash"]).exit_code == 0


def test_a_roster_import_counts_the_rows_it_wrote(county):
    """A write that leaves no history rows still says how much it wrote: the units and their task instances."""
    imported = [e for e in _entries(county) if e["action"] == "units.import"]
    instances = county.scalar("SELECT count(*) FROM task_instance ti JOIN unit u ON u.id = ti.unit_id "
                              "WHERE u.type_mask != 64")
    assert len(imported) == 1 and imported[0]["rows"] == 6 + instances and imported[0]["object"].endswith("units.csv")


def test_audit_rows_cannot_be_changed_through_the_database_by_accident(county):
    _busy(county)
    import pytest
    from sqlalchemy.exc import DatabaseError
    with pytest.raises(DatabaseError), store.writing(county.engine()) as conn:
        conn.execute(text("UPDATE audit SET summary = 'nothing happened'"))
    with pytest.raises(DatabaseError), store.writing(county.engine()) as conn:
        conn.execute(text("DELETE FROM audit"))


def test_an_audit_chain_of_schema_0012_upgrades_with_its_entries_and_guards(county):
    """0013 rebuilds the audit table on SQLite (to drop the unique index on hashes), which drops
    its triggers: the upgrade makes them again, and the chain still verifies."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import DatabaseError

    from helpers import ROOT
    _busy(county)
    before = _entries(county)
    config = Config()
    config.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
    with store.migrating(county.engine()) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
    assert f"database schema at {store.SCHEMA_HEAD}" in county("db", "upgrade").stdout
    assert _entries(county)[:len(before)] == before
    assert county("audit", "verify", "--data").exit_code == 0
    with pytest.raises(DatabaseError), store.writing(county.engine()) as conn:
        conn.execute(text("DELETE FROM audit"))


def test_an_edited_entry_is_named(county):
    _busy(county)
    target = _entries(county)[-3]["id"]
    _behind_aidcals_back(county, f"UPDATE audit SET actor = 'someone else' WHERE id = {target}")
    result = county("audit", "verify", ok=False)
    assert result.exit_code == 1 and f"audit entry {target} was edited" in result.stderr


def test_a_deleted_entry_is_named(county):
    _busy(county)
    entries = _entries(county)
    _behind_aidcals_back(county, f"DELETE FROM audit WHERE id = {entries[-3]['id']}")
    result = county("audit", "verify", ok=False)
    assert f"an audit entry before entry {entries[-2]['id']} was deleted" in result.stderr


def test_an_inserted_entry_is_named(county):
    """A forger who knows the hash rule: the entry itself checks, the next one no longer follows."""
    from aidcal.engine.audit import chained
    _busy(county)
    entries = _entries(county)
    before, after = entries[-3], entries[-2]
    forged = dict(at=store.now(), actor="local:root", action="tasks.waive", object="S003", outcome="done", rows=0,
                  written="{}", digest="", summary="", prev=before["hash"])
    forged["hash"] = chained(before["hash"], forged)
    place = county.scalar(f"SELECT seq FROM audit WHERE id = {after['id']}")
    _behind_aidcals_back(county, f"UPDATE audit SET id = id + 1000, seq = seq + 1000 WHERE id >= {after['id']}")  # room
    with store.writing(county.engine()) as conn:
        from aidcal.engine.models import audit
        conn.execute(audit.insert().values(id=after["id"], seq=place, **forged))
    result = county("audit", "verify", ok=False)
    assert f"audit entry {after['id']} was inserted" in result.stderr


def test_a_cut_tail_is_found_against_the_head_kept_outside(county):
    _busy(county)
    head = county("audit", "verify").stdout.split("head ")[1].strip()
    last = _entries(county)[-1]["id"]
    _behind_aidcals_back(county, f"DELETE FROM audit WHERE id = {last}")
    assert county("audit", "verify").exit_code == 0  # the chain alone cannot tell…
    result = county("audit", "verify", "--head", head, ok=False)  # …the head kept in the monthly report can
    assert result.exit_code == 1 and "not in the chain" in result.stderr


def test_rows_changed_since_their_entry_wrote_them_are_named(county):
    _busy(county)
    done = [e for e in _entries(county) if e["action"] == "tasks.done"][0]
    event_id = county.scalar("SELECT max(id) FROM event WHERE kind = 'done' AND by = 'tester' "
                             "AND detail = '' AND on_date = '2021-01-19'")
    with store.writing(county.engine()) as conn:
        conn.execute(text(f"UPDATE event SET by = 'nobody' WHERE id = {event_id}"))
    result = county("audit", "verify", "--data", ok=False)
    assert result.exit_code == 1 and f"audit entry {done['id']}: rows it wrote were changed since: event {event_id}" \
        in result.stderr
    assert county("audit", "verify").exit_code == 0  # the chain itself is whole


def test_a_moment_edited_since_is_named_even_as_text_that_is_no_moment(county):
    """The time a row was written is vouched for too: moved by a second, or (on SQLite, whose
    column holds any text) overwritten with words, `verify --data` names the row, never a traceback."""
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-01-19")
    done, event_id = _entries(county)[-1], county.scalar("SELECT max(id) FROM event")
    assert county("audit", "verify", "--data").exit_code == 0
    sqlite = county.engine().dialect.name == "sqlite"
    edits = [f"UPDATE event SET at = at + interval '1 second' WHERE id = {event_id}"] if not sqlite else \
        [f"UPDATE event SET at = '2021-01-19 00:00:01.000000' WHERE id = {event_id}",
         f"UPDATE event SET at = '昨天下午' WHERE id = {event_id}", f"UPDATE event SET at = 20210119 WHERE id = {event_id}"]
    for edit in edits:
        with store.writing(county.engine()) as conn:
            conn.execute(text(edit))
        result = county("audit", "verify", "--data", ok=False)
        assert result.exit_code == 1 and "Traceback" not in result.stderr
        assert f"audit entry {done['id']}: rows it wrote were changed since: event {event_id}" in result.stderr


def test_a_completion_with_evidence_vouches_for_its_event_and_its_evidence_row(county, tmp_path):
    """The event row is taken as the completion's statement hands it back, the evidence row is read
    back after: one digest covers both, and a later edit of either is named."""
    proof = tmp_path / "签到表.pdf"
    proof.write_bytes(b"%PDF-1.4 proof")
    county("tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-02", "--as-of", "2021-02-26",
           "--evidence", proof)
    done = _entries(county)[-1]
    event_id, evidence_id = county.scalar("SELECT max(id) FROM event"), county.scalar("SELECT max(id) FROM evidence")
    with county.engine().connect() as conn:
        written = json.loads(conn.execute(text(f"SELECT written FROM audit WHERE id = {done['id']}")).scalar())
    assert written == {"event": [[event_id, event_id]], "evidence": [[evidence_id, evidence_id]]} and done["rows"] == 2
    assert county("audit", "verify", "--data").exit_code == 0
    with store.writing(county.engine()) as conn:
        conn.execute(text(f"UPDATE evidence SET filename = 'other.pdf' WHERE id = {evidence_id}"))
    result = county("audit", "verify", "--data", ok=False)
    assert result.exit_code == 1 and f"audit entry {done['id']}: rows it wrote were changed since" in result.stderr


def test_a_write_past_its_time_limit_rolls_back_whole_and_leaves_no_entry(county):
    """The server's request time limit: a write whose deadline passed before its commit leaves nothing."""
    _busy(county)
    before = county.dump()
    with pytest.raises(TimeoutError):
        service.call(county.engine(), access.operator("tester"), "tasks.done",
                     dict(unit="S001", task="system-update", period="2021-02", as_of="2021-02-19"),
                     date(2026, 12, 3), expired=lambda: True)
    assert county.dump() == before
    assert county("audit", "verify", "--data").exit_code == 0


def _entry_written_unlinked(county):
    """A completion through the engine's API, as the server makes it: its entry waits for the linker."""
    service.call(county.engine(), access.operator("tester"), "tasks.done",
                 dict(unit="S002", task="system-update", period="2021-02", as_of="2021-02-19"), date(2026, 12, 3))


def test_an_entry_is_linked_after_its_write_commits_and_verify_counts_it_apart_till_then(county):
    _busy(county)
    linked = len(_entries(county))
    _entry_written_unlinked(county)
    # written with its write: who, what, the ids of its rows; their digest and the chain's link come after
    assert county.scalar("SELECT count(*) FROM audit WHERE seq IS NULL AND hash = '' AND prev = '' AND digest = ''"
                         " AND written != '{}'") == 1
    result = county("audit", "verify", "--data")  # a read: it links nothing
    assert f"audit chain intact: {linked} entries" in result.stdout
    assert "1 newer entries are not linked into the chain yet" in result.stdout
    assert audit.link(county.engine()) == 1 and audit.link(county.engine()) == 0
    assert len(county.scalar("SELECT digest FROM audit WHERE id = (SELECT max(id) FROM audit)")) == 64
    result = county("audit", "verify", "--data")
    assert f"audit chain intact: {linked + 1} entries" in result.stdout and "not linked" not in result.stdout
    assert _entries(county)[-1]["hash"] in result.stdout


def test_a_local_command_leaves_every_entry_it_wrote_linked(county):
    _busy(county)  # local commands: each links what it wrote as it ends
    assert county.scalar("SELECT count(*) FROM audit WHERE seq IS NULL") == 0
    assert county.scalar("SELECT count(*) FROM audit") == county.scalar("SELECT max(seq) FROM audit")


def test_the_guards_let_an_entry_be_linked_once_and_never_changed(county):
    from sqlalchemy.exc import DatabaseError
    _busy(county)
    _entry_written_unlinked(county)
    unlinked = county.scalar("SELECT id FROM audit WHERE seq IS NULL")
    head = county.scalar("SELECT max(seq) FROM audit")
    hashed, after_head = "a" * 64, f"(SELECT hash FROM audit WHERE seq = {head})"
    for statement in (f"UPDATE audit SET summary = 'nothing happened' WHERE id = {unlinked}",  # its content
                      f"UPDATE audit SET seq = 2147483647, prev = {after_head}, hash = '{hashed}' WHERE id = {unlinked}",
                      f"UPDATE audit SET seq = {head + 1}, prev = '{'0' * 64}', hash = '{hashed}' WHERE id = {unlinked}",
                      f"UPDATE audit SET seq = {head + 1}, prev = {after_head}, hash = '' WHERE id = {unlinked}",
                      f"UPDATE audit SET seq = 99999, hash = 'x', summary = '' WHERE id = {unlinked}",  # linked, changed
                      "UPDATE audit SET hash = 'x' WHERE seq IS NOT NULL",  # a linked entry linked again
                      f"DELETE FROM audit WHERE id = {unlinked}"):
        with pytest.raises(DatabaseError), store.writing(county.engine()) as conn:
            conn.execute(text(statement))
    assert audit.link(county.engine()) == 1
    assert county("audit", "verify", "--data").exit_code == 0


def test_a_linker_another_overtook_works_its_entries_out_anew(county, monkeypatch):
    """Two linkers read the same head; the first links what it read; the second, finding the head
    moved, reads again and links what the first left: a local command leaves its own entry linked."""
    _busy(county)
    engine = county.engine()
    _entry_written_unlinked(county)
    first = audit.digested(engine)
    service.call(engine, access.operator("tester"), "tasks.done",
                 dict(unit="S003", task="system-update", period="2021-02", as_of="2021-02-19"), date(2026, 12, 6))
    second = audit.digested(engine)  # both entries, from the same head
    assert (len(first), len(second)) == (1, 2)
    assert audit.link_digested(engine, first) == 1
    assert audit.link_digested(engine, second) == 0  # the head moved: nothing linked twice
    real, views = audit.digested, iter([second])
    monkeypatch.setattr(audit, "digested", lambda engine, **options: next(views, None) or real(engine, **options))
    assert audit.link(engine) == 1
    assert county.scalar("SELECT count(*) FROM audit WHERE seq IS NULL") == 0
    assert county("audit", "verify", "--data").exit_code == 0


def test_on_postgresql_an_entry_committed_late_is_linked_after_the_later_ids(county):
    """Two writers side by side: the one with the lower entry id commits last; the chain's order
    is the order of linking, and it verifies."""
    if county.engine().dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns: its ids are in commit order")
    _busy(county)
    with store.writing(county.engine()) as conn:
        audit.append(conn, audit.Entry("local:tester", "tasks.waive", "S001"))  # its id taken now
        late = conn.execute(text("SELECT max(id) FROM audit")).scalar()
        _entry_written_unlinked(county)  # a later id, committed first
        assert audit.link(county.engine()) == 1  # the late one's entry is not visible yet
    assert audit.link(county.engine()) == 1
    assert county.scalar(f"SELECT seq FROM audit WHERE id = {late}") == county.scalar("SELECT max(seq) FROM audit")
    assert county.scalar("SELECT max(id) FROM audit") > late
    assert county("audit", "verify", "--data").exit_code == 0


@pytest.mark.parametrize("alone", [inserted.ALONE, 0])
def test_the_linker_digests_many_entries_at_once_as_each_alone(county, monkeypatch, alone, tmp_path):
    """The linker reads a second's history rows in one span per table (an entry naming more rows
    than ALONE on its own, streamed); either way each entry's digest is what `verify --data` recomputes."""
    monkeypatch.setattr(inserted, "ALONE", alone)
    _busy(county)
    proof = tmp_path / "签到表.pdf"
    proof.write_bytes(b"%PDF-1.4 proof")
    county("tasks", "done", "--unit", "S003", "monthly-report", "--period", "2021-02", "--as-of", "2021-02-26",
           "--evidence", proof)
    with store.reading(county.engine()) as conn:
        entries = conn.execute(text("SELECT * FROM audit")).mappings().all()
        each = {row["id"]: inserted.digest_of(conn, json.loads(row["written"]))[0] for row in entries}
        assert inserted.digests(conn, [(row["id"], row["written"]) for row in entries]) == each == \
            {row["id"]: row["digest"] for row in entries}
    assert sum(1 for d in each.values() if d) >= 4  # the escalation's steps, the completions and their evidence

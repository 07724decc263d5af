"""Personal data sealed at rest: the database file (or a pg_dump) alone holds no child's ID
number, phone, bank card, hardship category or evidence; the key file, kept apart, opens them
where a job needs them; a wrong or missing key is refused before anything is written."""
import csv
import io
import json
import os
import stat
import subprocess

import pytest

from helpers import CASE_HEADER, Aidcal, bulk, case_file, make_id

PEOPLE = range(4)
SECRETS = [make_id(k) for k in PEOPLE] + [f"139{k:08d}" for k in PEOPLE] + [f"62220212345{k:08d}" for k in PEOPLE]


def raw_bytes(aidcal, request) -> bytes:
    """Everything the database keeps on disk: the SQLite file with its WAL, or a pg_dump."""
    if aidcal.url.startswith("sqlite"):
        path = aidcal.url.removeprefix("sqlite:///")
        aidcal.engine().dispose()
        return b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
    server = request.getfixturevalue("pg_server")
    name = aidcal.url.rsplit("/", 1)[1]
    return subprocess.run([str(server.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", name],
                          check=True, capture_output=True, timeout=120).stdout


@pytest.fixture
def sealed(county):
    """Four senior-grant applicants of S002, identified as 孤儿, and a task done with evidence."""
    from helpers import identify
    identify(county, "S002", 4, categories="孤儿")
    county("cases", "import", case_file(county, "c.csv", "S002", 4, year=None), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    proof = county.workdir / "proof.pdf"
    proof.write_bytes(b"%PDF-1.4 EVIDENCE-MARKER-7731")
    county("tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-02", "--as-of", "2021-02-26",
           "--evidence", proof)
    return county


def test_a_sealed_database_of_schema_0011_upgrades_with_every_row_kept(sealed):
    """0012 rebuilds aid_case and identification on SQLite (to drop their unique keys on sealed
    tokens) while case events and identification reviews point at them."""
    from alembic import command
    from alembic.config import Config

    from aidcal.engine import store
    from helpers import ROOT
    sealed("identification", "review", "1", "--level", "特别困难", "--reason", "秋季复核", "--as-of", "2021-10-08")
    assert sealed.scalar("SELECT count(*) FROM case_event") and sealed.scalar("SELECT count(*) FROM identification_review")
    before = sealed.dump()
    config = Config()
    config.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
    with store.migrating(sealed.engine()) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    assert store.schema_version(sealed.engine()) == "0011"
    assert f"database schema at {store.SCHEMA_HEAD}" in sealed("db", "upgrade").stdout
    assert sealed.dump() == before
    assert sealed("audit", "verify", "--data").exit_code == 0


def listed(aidcal):
    return json.loads(aidcal("cases", "list", "--format", "json").stdout)


def test_the_database_alone_holds_no_personal_number_category_or_evidence(sealed, request):
    raw = raw_bytes(sealed, request)
    for secret in SECRETS:
        assert secret.encode() not in raw
    assert "孤儿".encode() not in raw and b"EVIDENCE-MARKER-7731" not in raw
    cases = listed(sealed)
    assert [c["id_number"] for c in cases] == [f"340621********{make_id(k)[-4:]}" for k in PEOPLE]
    assert cases[0]["phone"] == "139****0000" and cases[0]["categories"] == ["孤儿"]
    out = sealed.workdir / "back"
    sealed("tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-02", "--output", out)
    assert (out / "proof.pdf").read_bytes() == b"%PDF-1.4 EVIDENCE-MARKER-7731"


def test_an_evidence_file_named_after_a_child_is_kept_under_a_masked_name(sealed, request):
    named = sealed.workdir / f"学生0_{make_id(0)}.pdf"
    named.write_bytes(b"%PDF-1.4 another")
    sealed("tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-03", "--as-of", "2021-03-26",
           "--evidence", named)
    assert make_id(0).encode() not in raw_bytes(sealed, request)
    out = sealed.workdir / "back3"
    sealed("tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-03", "--output", out)
    assert [p.name for p in out.iterdir()] == [f"学生0_340621********{make_id(0)[-4:]}.pdf"]


def test_the_payment_file_opens_full_numbers_only_with_a_reason_and_is_audited(sealed):
    bulk(sealed, "eligibility", "publicity", "2021-09-27")
    bulk(sealed, "publicity", "approval", "2021-10-09")
    out = sealed.workdir / "pay.csv"
    missing = sealed("cases", "payfile", "export", "--programme", "senior-grant", "--term", "2021-autumn",
                     "--output", out, ok=False)
    assert missing.exit_code == 2 and "--reason" in missing.stderr and not out.exists()
    sealed("cases", "payfile", "export", "--programme", "senior-grant", "--term", "2021-autumn", "--output", out,
           "--reason", "2021年秋季代发")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["身份证号"] for r in rows] == [make_id(k) for k in PEOPLE]
    assert rows[0]["银行卡号"] == "6222021234500000000"
    entries = json.loads(sealed("audit", "show", "--action", "cases.payfile.export", "--format", "json").stdout)
    assert len(entries) == 1 and entries[0]["rows"] == 4 and "2021年秋季代发" in entries[0]["summary"]
    assert make_id(0) not in entries[0]["summary"]


def test_without_the_key_file_personal_data_is_refused_and_nothing_is_written(sealed, tmp_path):
    before = sealed.dump()
    sheet = case_file(sealed, "more.csv", "S002", 2, start=10, year=None)
    for env in ({"AIDCAL_KEY_FILE": str(tmp_path / "nowhere.json")},):
        refused = sealed("cases", "import", sheet, "--programme", "senior-grant", "--term", "2021-autumn",
                         "--as-of", "2021-09-20", ok=False, env=env)
        assert refused.exit_code == 2 and "does not exist" in refused.stderr and "aidcal key init" in refused.stderr
    other = tmp_path / "other.json"
    sealed("key", "init", "--file", other)
    wrong = sealed("cases", "list", ok=False, env={"AIDCAL_KEY_FILE": str(other)})
    assert wrong.exit_code == 2 and "not this database's" in wrong.stderr
    wrong = sealed("cases", "import", sheet, "--programme", "senior-grant", "--term", "2021-autumn", "--as-of", "2021-09-20",
                   ok=False, env={"AIDCAL_KEY_FILE": str(other)})
    assert wrong.exit_code == 2 and "Traceback" not in wrong.stderr
    assert sealed.dump() == before


def test_key_init_writes_an_owner_only_file_and_never_overwrites_it(offline, tmp_path):
    path = tmp_path / "keys" / "bureau.json"
    made = offline("key", "init", "--file", path)
    assert "Keep a copy apart" in made.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = offline("key", "init", "--file", path, ok=False)
    assert again.exit_code == 2 and "never overwritten" in again.stderr


def test_a_key_file_others_may_read_is_refused(sealed, tmp_path):
    shared = tmp_path / "shared.json"
    shared.write_bytes(open(os.environ["AIDCAL_KEY_FILE"], "rb").read())
    shared.chmod(0o644)
    refused = sealed("cases", "list", ok=False, env={"AIDCAL_KEY_FILE": str(shared)})
    assert refused.exit_code == 2 and "chmod 600" in refused.stderr


def test_a_sealed_value_moved_to_another_case_does_not_open(sealed):
    bulk(sealed, "eligibility", "publicity", "2021-09-27")
    bulk(sealed, "publicity", "approval", "2021-10-09")
    from sqlalchemy import text

    from aidcal.engine import store
    with store.writing(sealed.engine()) as conn:
        card = conn.execute(text("SELECT bank_card FROM aid_case ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("UPDATE aid_case SET bank_card = :card WHERE id = (SELECT max(id) FROM aid_case)"), {"card": card})
    refused = sealed("cases", "payfile", "export", "--programme", "senior-grant", "--term", "2021-autumn",
                     "--output", sealed.workdir / "p.csv", "--reason", "test", ok=False)
    assert refused.exit_code == 2 and "does not open" in refused.stderr and not (sealed.workdir / "p.csv").exists()


def test_key_rotate_seals_everything_again_and_retires_the_old_key(sealed, tmp_path, request):
    keyfile = tmp_path / "rotated.json"
    keyfile.write_bytes(open(os.environ["AIDCAL_KEY_FILE"], "rb").read())
    keyfile.chmod(0o600)
    env = {"AIDCAL_KEY_FILE": str(keyfile)}
    old = json.loads(keyfile.read_text())["current"]
    result = sealed("key", "rotate", env=env)
    new = json.loads(keyfile.read_text())["current"]
    assert new != old and old in json.loads(keyfile.read_text())["sealing"]
    assert "4 cases, 4 identifications, 1 evidence files" in result.stdout
    assert sealed.scalar(f"SELECT count(*) FROM aid_case WHERE id_number LIKE '{old}.%' OR phone LIKE '{old}.%'") == 0
    assert sealed.scalar(f"SELECT count(*) FROM seal_key WHERE key_id = '{old}' AND retired_at IS NOT NULL") == 1
    cases = json.loads(sealed("cases", "list", "--format", "json", env=env).stdout)
    assert cases[0]["categories"] == ["孤儿"]
    raw = raw_bytes(sealed, request)
    assert all(secret.encode() not in raw for secret in SECRETS)
    entries = json.loads(sealed("audit", "show", "--action", "key.rotate", "--format", "json").stdout)
    assert len(entries) == 1 and entries[0]["rows"] == 9


def clear_rows(aidcal):
    """Personal rows as a release before sealing wrote them (the columns 0011 added still empty)."""
    from sqlalchemy import text

    from aidcal.engine import store
    with store.writing(aidcal.engine()) as conn:
        unit = conn.execute(text("SELECT id FROM unit WHERE code = 'S002'")).scalar()
        for k in PEOPLE:
            conn.execute(text(
                "INSERT INTO aid_case (workflow, programme, term, unit_id, name, id_number, phone, grade, class_name, level, "
                "boarding, bank_card, standard, amount, state, state_since, objection_open, created_at, created_by, categories, "
                "needs_identification, agricultural, recovered) VALUES ('student_aid', 'senior-grant', '2020-autumn', :unit, "
                ":name, :id, :phone, '高二', '1班', 'hard', true, :card, 100000, 100000, 'archive', '2021-01-10', false, "
                "'2020-09-20 00:00:00', 'old', '孤儿', false, false, 0)"),
                dict(unit=unit, name=f"学生{k}", id=make_id(k), phone=f"139{k:08d}", card=f"62220212345{k:08d}"))
            conn.execute(text(
                "INSERT INTO identification (year, unit_id, name, id_number, level, categories, pledge, reviewed_on, "
                "created_at, created_by) VALUES (2020, :unit, :name, :id, 'hard', '孤儿', true, '2020-09-10', "
                "'2020-09-15 00:00:00', 'old')"), dict(unit=unit, name=f"学生{k}", id=make_id(k)))


def test_a_database_from_before_sealing_is_sealed_only_on_purpose_then_holds_nothing_in_clear(county, request):
    clear_rows(county)
    refused = county("cases", "list", ok=False)
    assert refused.exit_code == 2 and "aidcal key encrypt-existing" in refused.stderr
    result = county("key", "encrypt-existing")
    assert "sealed: 4 cases, 4 identifications" in result.stdout
    cases = listed(county)
    assert [c["id_number"] for c in cases] == [f"340621********{make_id(k)[-4:]}" for k in PEOPLE]
    assert cases[0]["categories"] == ["孤儿"] and cases[0]["phone"] == "139****0000"
    raw = raw_bytes(county, request)
    assert all(secret.encode() not in raw for secret in SECRETS) and "孤儿".encode() not in raw
    again = county("key", "encrypt-existing", ok=False)
    assert again.exit_code == 2 and "sealed already" in again.stderr
    # the keyed hash of the numbers once in clear finds the person: the same case twice is refused
    line = f"学生0,{make_id(0)},13900000000,S002,高二,1班,困难,6222021234500000000,是"
    twice = county("cases", "import", county.file("again.csv", f"{CASE_HEADER}\n{line}\n"), "--programme", "senior-grant",
                   "--term", "2020-autumn", "--as-of", "2020-09-20", ok=False)
    assert twice.exit_code == 2 and "already has a senior-grant case for 2020-autumn" in twice.stderr


def test_cases_purge_erases_finished_cases_past_retention_and_keeps_the_accounts(county, request):
    clear_rows(county)
    county("key", "encrypt-existing")
    early = county("cases", "purge", "--before", "2026-autumn", "--reason", "保存期满", "--as-of", "2026-03-01", ok=False)
    assert early.exit_code == 2 and "current term" in early.stderr
    result = county("cases", "purge", "--before", "2021-autumn", "--reason", "档案保存期满（县局规定五年）", "--as-of", "2026-03-01")
    assert "4 cases and 4 identifications" in result.stdout
    cases = listed(county)
    assert {c["name"] for c in cases} == {"（已清除）"} and {c["id_number"] for c in cases} == {""}
    assert sum(c["amount"] for c in cases) == 4000 and {c["state"] for c in cases} == {"archive"}
    raw = raw_bytes(county, request)
    assert all(secret.encode() not in raw for secret in SECRETS) and "学生0".encode() not in raw
    entries = json.loads(county("audit", "show", "--action", "cases.purge", "--format", "json").stdout)
    assert entries[0]["rows"] == 8 and "档案保存期满" in entries[0]["summary"]


def test_an_unfinished_case_is_never_purged(school):
    before = school.dump()
    refused = school("cases", "purge", "--before", "2022-spring", "--reason", "x", "--as-of", "2026-03-01", ok=False)
    assert refused.exit_code == 2 and "not finished" in refused.stderr
    assert school.dump() == before


@pytest.fixture
def school(county):
    county("cases", "import", case_file(county, "c.csv", "S002", 4), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    return county


def test_db_copy_carries_the_sealed_values_as_they_are(sealed, another_db, request):
    target = another_db("copy")
    sealed("db", "copy", "--to", target)
    copy = Aidcal(target, sealed.workdir)
    assert copy.scalar("SELECT count(*) FROM seal_key") == sealed.scalar("SELECT count(*) FROM seal_key")
    assert copy.scalar("SELECT id_number FROM aid_case ORDER BY id LIMIT 1") == \
        sealed.scalar("SELECT id_number FROM aid_case ORDER BY id LIMIT 1")
    assert listed(copy) == listed(sealed)  # the same key file opens the copy
    raw = raw_bytes(copy, request)
    assert all(secret.encode() not in raw for secret in SECRETS)


def test_a_sealed_category_is_as_long_as_any_other(county):
    """The length of a token must not say which children are orphans."""
    from helpers import identify
    identify(county, "S002", 1, categories="孤儿")
    identify(county, "S002", 1, start=1, categories="防返贫监测对象")
    identify(county, "S002", 1, start=2, categories="城市低保")
    assert county.scalar("SELECT count(DISTINCT length(categories)) FROM identification") == 1
    assert county.scalar("SELECT count(DISTINCT length(id_number)) FROM identification") == 1


def test_a_purged_database_rotates_and_a_failed_rotation_keeps_the_key_file(county, tmp_path):
    keyfile = tmp_path / "k.json"
    keyfile.write_bytes(open(os.environ["AIDCAL_KEY_FILE"], "rb").read())
    keyfile.chmod(0o600)
    env = {"AIDCAL_KEY_FILE": str(keyfile)}
    clear_rows(county)
    county("key", "encrypt-existing", env=env)
    county("cases", "purge", "--before", "2021-autumn", "--reason", "保存期满", "--as-of", "2026-03-01", env=env)
    county("cases", "import", case_file(county, "now.csv", "S002", 2, start=20), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20", env=env)
    rotated = county("key", "rotate", env=env)
    assert "2 cases" in rotated.stdout and "restart aidcal serve" in rotated.stderr
    before = keyfile.read_bytes()
    from sqlalchemy import text

    from aidcal.engine import store
    with store.writing(county.engine()) as conn:  # a value altered outside aidcal: the rotation cannot open it
        kid = json.loads(before)["current"]
        conn.execute(text(f"UPDATE aid_case SET phone = '{kid}.AAAA' WHERE id = (SELECT max(id) FROM aid_case)"))
    failed = county("key", "rotate", ok=False, env=env)
    assert failed.exit_code == 2 and "does not open" in failed.stderr and "Traceback" not in failed.stderr
    assert keyfile.read_bytes() == before


def test_a_new_sqlite_database_is_the_owners_alone(tmp_path, calendar_file):
    """Students' names are in clear: the file (and the WAL SQLite gives its mode) is mode 0600."""
    fresh = Aidcal(f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
    fresh("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600

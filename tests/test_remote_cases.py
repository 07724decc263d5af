"""Cases, identification, the roster and the bank's files from a school's, a supervisor's and an auditor's own
machines, through a real `aidcal serve`: each prints what it prints on the bureau's database, and each is refused
outside its user's reach (a school another school's cases, even by number; a school approving or exporting the
payment file; a supervisor another county's; an auditor any write), every refusal in the audit log. One server per
backend for the module; each test works on its own cases (S002's 1–4, S003's 5–8), so their order does not matter."""
import json

import pytest

from aidcal.engine.masking import mask_number
from helpers import BACKENDS, IDENT_HEADER, case_file, make_id, served_county

USERS = [("sup", "supervisor", "340621"), ("s2", "unit", "S002"), ("s3", "unit", "S003"), ("aud", "auditor", "340621"),
         ("elsewhere", "supervisor", "340622")]
TERM = ["--programme", "senior-grant", "--term", "2021-autumn"]


@pytest.fixture(scope="module", params=BACKENDS)
def bureau(request, tmp_path_factory):
    """A county with its roster, four senior-grant cases at S002 (1–4) and four at S003 (5–8), identified and in
    eligibility; a user of each role; its server running."""
    workdir = tmp_path_factory.mktemp(f"cases-{request.param}")

    def prepare(county):
        for unit, start in (("S002", 0), ("S003", 10)):
            county("cases", "import", case_file(county, f"{unit}.csv", unit, 4, start), *TERM, "--as-of", "2021-09-20")
    with served_county(request, workdir, USERS, prepare) as bureau:
        yield bureau


def test_a_school_imports_and_lists_its_own_cases_masked_and_no_other_schools(bureau, tmp_path):
    county = bureau.county
    ours = bureau.remote("s2", "cases", "import", case_file(county, "ours.csv", "S002", 2, 4), *TERM, "--as-of", "2021-09-21")
    theirs = county("cases", "import", case_file(county, "theirs.csv", "S003", 2, 14), *TERM, "--as-of", "2021-09-21")
    assert ours.stdout == theirs.stdout == "cases: 2 imported into senior-grant 2021-autumn\n"
    entry = json.loads(county("audit", "show", "--actor", "s2", "--action", "cases.import", "--format", "json").stdout)[0]
    assert entry["object"] == "ours.csv" and entry["rows"] == 2

    mixed = case_file(county, "mixed.csv", "S002", 1, 6)
    mixed.write_text(mixed.read_text() + f"学生16,{make_id(16)},13900000016,S003,高二,1班,困难,6222021234500000016,是\n")
    for user, says in (("s2", "S003"), ("elsewhere", "S002"), ("aud", "auditor")):
        bureau.refused(user, "cases", "import", mixed, *TERM, "--as-of", "2021-09-21", says=[says])

    for fmt in ("table", "json"):
        listed = bureau.same("s2", "cases", "list", "--unit", "S002", "--format", fmt)
        assert make_id(0) not in listed and "13900000000" not in listed and "6222021234500000000" not in listed
        bureau.same("aud", "cases", "list", "--unit", "S003", "--format", fmt)
        bureau.same("sup", "cases", "list", "--format", fmt)  # the supervisor's own county: every case here
    rows = json.loads(bureau.remote("s2", "cases", "list", "--unit", "S002", "--format", "json").stdout)
    assert {r["unit"] for r in rows} == {"S002"} and rows[0]["id_number"] == mask_number(make_id(0))
    bureau.refused("s2", "cases", "list", "--unit", "S003", says=["S003"])
    assert bureau.remote("s2", "cases", "list").stdout == bureau.remote("s2", "cases", "list", "--unit", "S002").stdout
    bureau.refused("s2", "cases", "list", "--authority", "340621", says=["340621"])
    bureau.refused("elsewhere", "cases", "list", "--unit", "S002", says=["S002"])
    empty = bureau.remote("elsewhere", "cases", "list", ok=False)  # its own county, where nothing is loaded: no all-clear
    assert empty.exit_code == 2 and "--authority '340622': no plan or unit of that authority is loaded" in empty.stderr


def test_publicity_and_objections_are_the_schools_and_approval_the_supervisors(bureau):
    publish = ["cases", "advance", "1", "--to", "publicity", "--as-of", "2021-09-27"]
    for user, says in (("s3", "S002"), ("elsewhere", "S002"), ("aud", "auditor")):
        bureau.refused(user, *publish, says=[says])
    assert bureau.remote("s2", *publish).stdout == "case 1: publish → publicity on 2021-09-27\n"
    bureau.refused("s3", "cases", "object", "1", "--reason", "家庭收入不实", "--as-of", "2021-09-28", says=["S002"])
    assert bureau.remote("s2", "cases", "object", "1", "--reason", "家庭收入不实", "--as-of", "2021-09-28").stdout == \
        "case 1: under review\n"
    resolve = ["cases", "resolve", "1", "--dismissed", "--note", "经核实属实", "--as-of", "2021-09-29"]
    bureau.refused("s3", *resolve, says=["S002"])
    assert bureau.remote("s2", *resolve).stdout == "case 1: dismissed: back to publicity, ending as before\n"

    approve = ["cases", "advance", "1", "--to", "approval", "--as-of", "2021-10-09"]
    bureau.refused("s2", *approve, says=["supervisor"])
    bureau.refused("elsewhere", *approve, says=["S002"])
    assert bureau.remote("sup", *approve).stdout == "case 1: approve → approval on 2021-10-09\n"
    bulk = ["cases", "advance", *TERM, "--from", "publicity", "--to", "approval", "--as-of", "2021-10-09"]
    bureau.refused("s2", *bulk, "--unit", "S002", says=["supervisor"])
    bureau.refused("s2", *bulk, says=["--unit S002"])
    bureau.refused("elsewhere", *bulk, "--unit", "S002", says=["S002"])
    assert bureau.remote("elsewhere", *bulk, ok=False).exit_code == 2  # its own county's: nothing loaded there

    for fmt in ("table", "json"):
        history = bureau.same("s2", "cases", "history", "1", "--format", fmt)
        bureau.same("aud", "cases", "history", "1", "--format", fmt)
    assert "家庭收入不实" in history and "s2" in history and "sup" in history and "typed-by-hand" not in history
    bureau.refused("s3", "cases", "history", "1", says=["S002"])
    bureau.refused("elsewhere", "cases", "history", "1", says=["S002"])


def test_facts_are_recorded_by_the_school_and_changes_after_payout_by_the_supervisor(bureau, tmp_path):
    record = ["cases", "record", "4", "--callback-outcome", "已电话回访", "--document", "申请表"]
    for user, says in (("s3", "S002"), ("elsewhere", "S002"), ("aud", "auditor")):
        bureau.refused(user, *record, says=[says])
    assert bureau.remote("s2", *record).stdout == "recorded for 1 case(s)\n"
    sheet = tmp_path / "facts.csv"
    sheet.write_text("case,callback_outcome,documents,card,cash_approval\n4,已回访,申请表;承诺书,,\n5,已回访,,,\n", encoding="utf-8")
    bureau.refused("s2", "cases", "record", "--file", sheet, says=["S003"])
    sheet.write_text("case,callback_outcome,documents,card,cash_approval\n4,已回访,申请表;承诺书,,\n", encoding="utf-8")
    assert bureau.remote("s2", "cases", "record", "--file", sheet).stdout == "recorded for 1 case(s)\n"
    card = bureau.remote("s2", "cases", "record", "4", "--bank-card", "6222029876543210123")
    assert card.stdout == "recorded for 1 case(s)\n"
    listed = bureau.remote("s2", "cases", "list", "--unit", "S002", "--format", "json").stdout
    assert "6222029876543210123" not in listed and mask_number("6222029876543210123") in listed

    transfer = ["cases", "transfer", "4", "--to-unit", "S003", "--reason", "随父母迁居"]
    for user, says in (("s2", "supervisor"), ("aud", "auditor"), ("elsewhere", "S002")):
        bureau.refused(user, *transfer, says=[says])
    for args in (["stop", "4", "--kind", "转学", "--paying-unit", "S002", "--reason", "转学"],
                 ["recover", "4", "--amount", "100", "--on", "2021-12-01", "--reason", "虚报"]):
        bureau.refused("s2", "cases", *args, says=["supervisor"])
        bureau.refused("elsewhere", "cases", *args, says=["S002"])
    assert bureau.remote("sup", *transfer).stdout == "case 4: now at 濉溪第二中学 (S003)\n"
    bureau.refused("s2", "cases", "history", "4", says=["S003"])  # the case went with the student


def test_the_payment_file_and_the_banks_return_are_a_supervisors_and_the_roster_the_schools(bureau, tmp_path):
    for case in ("2", "3"):
        bureau.remote("s2", "cases", "advance", case, "--to", "publicity", "--as-of", "2021-09-27")
        bureau.remote("sup", "cases", "advance", case, "--to", "approval", "--as-of", "2021-10-09")
    pay = ["cases", "payfile", "export", *TERM, "--unit", "S002", "--reason", "2021年秋季代发", "--output"]
    bureau.refused("s2", *pay, tmp_path / "s2.csv", says=["supervisor"])
    bureau.refused("aud", *pay, tmp_path / "aud.csv", says=["auditor"])
    bureau.refused("elsewhere", *pay, tmp_path / "elsewhere.csv", says=["S002"])
    here = bureau.remote("sup", *pay, tmp_path / "remote.csv")
    there = bureau.county(*pay, tmp_path / "local.csv")
    text = (tmp_path / "remote.csv").read_text(encoding="utf-8-sig")
    assert text == (tmp_path / "local.csv").read_text(encoding="utf-8-sig")
    n = len(text.splitlines()) - 1  # 2 and 3, and 1 where the approval's test ran first
    assert here.stderr.replace("remote", "local") == there.stderr and f"payment file of {n} cases, {n}000.00 yuan" in here.stderr
    assert make_id(1) in text and "6222021234500000002" in text  # the full numbers the bank needs, and only here
    assert not any((tmp_path / f"{u}.csv").exists() for u in ("s2", "aud", "elsewhere"))
    entry = json.loads(bureau.county("audit", "show", "--actor", "sup", "--action", "cases.payfile.export",
                                     "--format", "json").stdout)[0]
    assert "reason=2021年秋季代发" in entry["summary"] and entry["rows"] == n and make_id(1) not in json.dumps(entry)

    back = tmp_path / "back.csv"
    back.write_text("身份证号,金额,结果,原因\n" + "".join(f"{make_id(k)},1000.00,成功,\n" for k in (1, 2)), encoding="utf-8")
    bank = ["cases", "bankreturn", "import", back, *TERM, "--as-of", "2021-10-22"]
    bureau.refused("s2", *bank, says=["supervisor"])
    bureau.refused("elsewhere", *bank, says=["S002"])
    assert bureau.remote("sup", *bank).stdout == "bank return: 2 paid, 0 failed\n"

    roster = ["cases", "roster", "export", "--unit", "S002", *TERM, "--output"]
    here = bureau.remote("s2", *roster, tmp_path / "roster-remote.csv")
    bureau.county(*roster, tmp_path / "roster-local.csv")
    lines = (tmp_path / "roster-remote.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == (tmp_path / "roster-local.csv").read_text(encoding="utf-8-sig").splitlines() and len(lines) == 3
    assert mask_number(make_id(1)) in lines[1] and make_id(1) not in "".join(lines)
    bureau.refused("s3", *roster, tmp_path / "s3-roster.csv", says=["S002"])
    signed = tmp_path / "signed.csv"
    signed.write_text("\n".join([lines[0], lines[1][:-1] + "本人,2021-10-25", lines[2]]) + "\n", encoding="utf-8")
    for user, says in (("s3", "S002"), ("aud", "auditor"), ("elsewhere", "S002")):
        bureau.refused(user, "cases", "roster", "import", signed, "--as-of", "2021-10-27", says=[says])
    assert bureau.remote("s2", "cases", "roster", "import", signed, "--as-of", "2021-10-27").stdout == \
        "roster: 1 signed, 1 not yet signed\n"


def test_a_school_identifies_and_reviews_its_own_students_only(bureau, tmp_path):
    def sheet(name, unit, people):
        path = tmp_path / name
        path.write_text("\n".join([IDENT_HEADER] + [f"学生{k},{make_id(k)},{u},困难,,是,2021-09-10" for k, u in people]) + "\n",
                        encoding="utf-8")
        return path
    ours = bureau.remote("s2", "identification", "import", sheet("ours.csv", "S002", [(40, "S002"), (41, "S002")]),
                         "--year", "2021", "--as-of", "2021-09-15")
    theirs = bureau.county("identification", "import", sheet("theirs.csv", "S003", [(50, "S003"), (51, "S003")]),
                           "--year", "2021", "--as-of", "2021-09-15")
    assert ours.stdout == theirs.stdout == "identification: 2 imported for the school year 2021; 0 cases linked\n"
    entry = json.loads(bureau.county("audit", "show", "--actor", "s2", "--action", "identification.import",
                                     "--format", "json").stdout)[0]
    assert entry["rows"] == 2 and entry["object"] == "ours.csv"
    mixed = sheet("mixed.csv", "S002", [(42, "S002"), (52, "S003")])
    for user, says in (("s2", "S003"), ("elsewhere", "S002"), ("aud", "auditor")):
        bureau.refused(user, "identification", "import", mixed, "--year", "2021", says=[says])

    for fmt in ("table", "json"):
        listed = bureau.same("s2", "identification", "list", "--unit", "S002", "--year", "2021", "--format", fmt)
        assert make_id(40) not in listed
        bureau.same("aud", "identification", "list", "--unit", "S003", "--format", fmt)
        bureau.same("sup", "identification", "list", "--format", fmt)
    bureau.refused("s2", "identification", "list", "--unit", "S003", says=["S003"])
    assert bureau.remote("s2", "identification", "list").stdout == \
        bureau.remote("s2", "identification", "list", "--unit", "S002").stdout  # a school's own, unnamed
    bureau.refused("elsewhere", "identification", "list", "--unit", "S002", says=["S002"])

    rows = json.loads(bureau.county("identification", "list", "--unit", "S002", "--format", "json").stdout)
    ident = str(next(r["id"] for r in rows if r["name"] == "学生40"))
    review = ["identification", "review", ident, "--level", "特别困难", "--reason", "父亲重病", "--as-of", "2022-03-01"]
    for user, says in (("s3", "S002"), ("elsewhere", "S002"), ("aud", "auditor")):
        bureau.refused(user, *review, says=[says])
    assert bureau.remote("s2", *review).stdout == \
        f"identification {ident}: 特别困难; 0 cases not yet posted follow, 0 keep theirs\n"

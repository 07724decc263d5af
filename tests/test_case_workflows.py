"""Each student's aid as a state machine: workflows as data, programmes and
standards, case import with personal-data checks, guarded moves one by one and
in bulk, objections, publicity lists that leak nothing, and calendar tasks the
cases complete."""
import csv
import io
import json

import pytest

from helpers import CASE_HEADER, ROOT, bulk, case_file, identify, make_id


@pytest.fixture
def school(county):
    """S002 (a senior high school) with four autumn 2021 senior-grant applicants."""
    county("cases", "import", case_file(county, "c.csv", "S002", 4), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    return county


def cases(aidcal, *extra):
    return json.loads(aidcal("cases", "list", "--format", "json", *extra).stdout)


# ── workflows and programmes ──────────────────────────────────────────────────
def test_shipped_workflows_are_valid(offline):
    for name in ("student_aid", "scholarship"):
        assert "ok" in offline("workflow", "check", ROOT / "workflows" / f"{name}.yaml").stdout


def test_the_stored_workflow_is_drawn(planned):
    aidcal = planned
    drawing = aidcal("workflow", "show", "student_aid").stdout
    assert "stateDiagram-v2" in drawing and "publicity --> approval: approve [publicity_ended" in drawing


def test_workflow_errors_name_file_and_line(offline):
    bad = offline.file("wf.yaml", "name: w\ninitial: a\nstates:\n  - {name: a}\n  - {name: b}\n  - {name: c}\n"
                                  "transitions:\n  - {trigger: go, source: a, dest: b, guards: [paid]}\n"
                                  "  - {trigger: back, source: b, dest: z}\n")
    result = offline("workflow", "check", bad, ok=False)
    assert result.exit_code == 2
    assert "wf.yaml:8: transition go: unknown guard 'paid'" in result.stderr
    assert "wf.yaml:9: transition back: unknown state 'z'" in result.stderr
    assert "wf.yaml:6: state c: unreachable from the initial state 'a'" in result.stderr


def test_programmes_list_gives_the_rate_in_force_in_a_term(planned):
    aidcal = planned
    def hard(term):
        rows = json.loads(aidcal("programmes", "list", "--term", term, "--format", "json").stdout)
        return next(r["amount"] for r in rows if r["programme"] == "senior-grant" and r["level"] == "困难")
    assert hard("2021-autumn") == 2000 and hard("2025-spring") == 2300
    rows = json.loads(aidcal("programmes", "list", "--format", "json").stdout)
    assert set(rows[0]) == {"programme", "title", "level", "amount", "term_from"}


# ── import ────────────────────────────────────────────────────────────────────
def test_import_sets_the_term_amount_and_masks_personal_numbers(school):
    rows = cases(school)
    assert [r["state"] for r in rows] == ["eligibility"] * 4
    assert {r["amount"] for r in rows} == {1000.0}  # half of 2000 a year
    assert rows[0]["id_number"] == make_id(0)[:6] + "********" + make_id(0)[-4:]
    out = school("cases", "list").stdout
    assert make_id(0) not in out and "13900000000" not in out


def test_bad_rows_are_all_listed_with_excel_row_numbers_and_nothing_is_written(county):
    before = county.dump()
    bad = county.file("bad.csv", "\n".join([
        CASE_HEADER,
        f"甲,{make_id(1)},13900000001,S002,高一,1班,困难,6222021234567890,是",
        "乙,130402198207290622,13900000002,S002,高一,1班,困难,6222021234567891,是",
        f"丙,{make_id(3)},1390000,S002,高一,1班,困难,6222021234567892,是",
        f"丁,{make_id(1)},13900000004,S002,高一,1班,困难,6222021234567893,是",
        f"戊,{make_id(5)},13900000005,S002,高一,1班,很困难,6222021234567894,是",
        f"己,{make_id(6)},13900000006,S001,初一,1班,困难,6222021234567895,是",
    ]) + "\n")
    result = county("cases", "import", bad, "--programme", "senior-grant", "--term", "2021-autumn", ok=False)
    assert result.exit_code == 2
    err = result.stderr
    assert "row 3: id_number 130402********0622 fails its check character" in err
    assert "row 4: phone" in err and "is not a mobile" in err
    assert "row 5: the same person" in err and "already in row 2" in err
    assert "row 6: level '很困难' is not allowed" in err
    assert "row 7: unit 'S001' is not a school that programme senior-grant serves" in err
    assert "130402198207290622" not in err  # never in full, not even in an error
    assert county.dump() == before


def test_xlsx_numbers_that_lost_digits_are_refused(county):
    from openpyxl import Workbook
    book = Workbook()
    book.active.append(CASE_HEADER.split(","))
    book.active.append(["甲", 340621200503010010, "13900000001", "S002", "高一", "1班", "困难", 6222021234567890123, "是"])
    path = county.workdir / "c.xlsx"
    book.save(path)
    result = county("cases", "import", path, "--programme", "senior-grant", "--term", "2021-autumn", ok=False)
    assert "row 2: id_number is stored as a number in Excel and has lost its last digits" in result.stderr
    assert "row 2: bank_card is stored as a number" in result.stderr


def test_one_person_has_one_case_per_programme_and_term(school):
    result = school("cases", "import", case_file(school, "again.csv", "S002", 1), "--programme", "senior-grant",
                    "--term", "2021-autumn", ok=False)
    assert result.exit_code == 2 and "already has a senior-grant case for 2021-autumn" in result.stderr
    school("cases", "import", case_file(school, "spring.csv", "S002", 1), "--programme", "senior-grant", "--term", "2022-spring")


# ── moves and guards ──────────────────────────────────────────────────────────
def test_approval_before_publicity_has_run_is_refused_with_the_date(school):
    assert bulk(school, "eligibility", "publicity", "2021-09-27") == {"moved": 4, "held": {}, "possible_from": {}}
    result = school("cases", "advance", "1", "--to", "approval", "--as-of", "2021-10-08", ok=False)
    assert result.exit_code == 2
    assert "held by guard publicity_ended" in result.stderr and "possible from 2021-10-09" in result.stderr
    assert bulk(school, "publicity", "approval", "2021-10-08") == {"moved": 0, "held": {"publicity_ended": 4},
                                                                   "possible_from": {"publicity_ended": "2021-10-09"}}
    assert bulk(school, "publicity", "approval", "2021-10-09") == {"moved": 4, "held": {}, "possible_from": {}}  # a make-up Saturday


def test_payout_needs_a_card_or_a_cash_approval_and_held_cases_are_listed(county):
    identify(county, "S002", 4)
    rows = [f"学生{k},{make_id(k)},139{k:08d},S002,高二,1班,困难,{f'62220212345{k:08d}' if k < 2 else ''},是" for k in range(4)]
    county("cases", "import", county.file("c.csv", "\n".join([CASE_HEADER, *rows]) + "\n"), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    bulk(county, "eligibility", "publicity", "2021-09-27")
    bulk(county, "publicity", "approval", "2021-10-09")
    county("cases", "record", "2", "--card", "social-security", "--as-of", "2021-10-10")  # the card imported, another route
    county("cases", "record", "3", "--cash-approval", "审批〔2021〕12号", "--as-of", "2021-10-10")
    held = cases(county, "--held-by", "has_payment_route", "--as-of", "2021-10-11")
    assert [r["case"] for r in held] == [4]  # imported with a card, cases 1 and 2 pay to it: no record needed
    assert bulk(county, "approval", "payout", "2021-10-11") == {"moved": 3, "held": {"has_payment_route": 1}, "possible_from": {}}


def test_amount_different_from_the_standard_needs_a_recorded_reason(school):
    bulk(school, "eligibility", "publicity", "2021-09-27")
    from sqlalchemy import text

    from aidcal.engine import store
    with store.writing(school.engine()) as conn:
        conn.execute(text("UPDATE aid_case SET amount = 90000 WHERE id = 1"))  # typed in by hand elsewhere
    result = school("cases", "advance", "1", "--to", "approval", "--as-of", "2021-10-09", ok=False)
    assert "amount_matches_standard" in result.stderr
    assert school("cases", "record", "1", "--amount", "1200", ok=False).exit_code == 2  # no reason
    school("cases", "record", "1", "--amount", "1200", "--reason", "县级配套提标")
    school("cases", "advance", "1", "--to", "approval", "--as-of", "2021-10-09")


def test_objection_dismissed_keeps_the_end_date_and_upheld_restarts_publicity(school):
    bulk(school, "eligibility", "publicity", "2021-09-27")
    school("cases", "object", "1", "--reason", "家长反映家庭收入较高", "--as-of", "2021-09-28")
    school("cases", "object", "2", "--reason", "同学反映", "--as-of", "2021-09-28")
    school("cases", "resolve", "1", "--dismissed", "--note", "经核实属实困难", "--as-of", "2021-09-30")
    school("cases", "resolve", "2", "--upheld", "--level", "一般困难", "--note", "调整等级", "--as-of", "2021-09-30")
    result = bulk(school, "publicity", "approval", "2021-10-09")
    assert result == {"moved": 3, "held": {"publicity_ended": 1},  # case 2 was posted again on 30 September
                      "possible_from": {"publicity_ended": "2021-10-13"}}
    words = school("cases", "advance", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
                   "--from", "publicity", "--to", "approval", "--as-of", "2021-10-12").stdout
    assert "held: publicity_ended 1 (possible from 2021-10-13)" in words
    rows = {r["case"]: r for r in cases(school)}
    assert rows[2]["level"] == "一般困难" and rows[2]["amount"] == 500  # half of the example province's 1000
    history = json.loads(school("cases", "history", "2", "--format", "json").stdout)
    assert [h["trigger"] for h in history] == ["import", "publish", "object", "uphold"]
    assert history[2]["reason"] == "同学反映" and history[2]["by"] == "tester"
    table = school("cases", "history", "2").stdout
    assert "case 2: its moves" in table and "同学反映" in table and "uphold" in table


def test_upheld_without_a_level_terminates(school):
    bulk(school, "eligibility", "publicity", "2021-09-27")
    school("cases", "object", "3", "--reason", "非本校学生", "--as-of", "2021-09-28")
    school("cases", "resolve", "3", "--upheld", "--note", "核实不符合条件", "--as-of", "2021-09-29")
    assert cases(school, "--state", "terminated")[0]["case"] == 3


# ── publicity list ────────────────────────────────────────────────────────────
def test_publicity_export_carries_no_personal_numbers(school, tmp_path):
    bulk(school, "eligibility", "publicity", "2021-09-27")
    school("publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--format", "csv", "--output", tmp_path / "p.csv")
    raw = (tmp_path / "p.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["姓名", "学校", "年级", "班级", "资助项目", "困难等级", "本学期金额（元）"]
    assert "2021-09-27 至 2021-10-08" in text and "0561-6012345" in text
    for k in range(4):
        assert make_id(k) not in text and f"139{k:08d}" not in text and f"62220212345{k:08d}" not in text
    school("publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--format", "docx", "--output", tmp_path / "p.docx")
    from docx import Document
    doc = Document(tmp_path / "p.docx")
    body = "\n".join(p.text for p in doc.paragraphs) + "".join(c.text for r in doc.tables[0].rows for c in r.cells)
    assert "学生0" in body and "监督电话：0561-6012345" in body and make_id(0) not in body


# ── a year of cases, and the calendar ─────────────────────────────────────────
def test_a_year_of_cases_moved_in_bulk_ends_with_the_right_states_and_tasks_done(county):
    spring = [("S002", "senior-grant", 30), ("S003", "senior-grant", 20), ("V001", "vocational-grant", 25),
              ("K001", "preschool-aid", 15)]
    for k, (unit, programme, n) in enumerate(spring):
        for term in ("2021-spring", "2021-autumn"):  # the same students, both terms; different students per school
            county("cases", "import", case_file(county, f"{unit}{term}.csv", unit, n, 100 * k,
                                                year=2020 if term == "2021-spring" else 2021), "--programme", programme,
                   "--term", term, "--as-of", "2021-03-01")
    for unit, programme, n in spring:
        for term, posted, paid in (("2021-spring", "2021-03-15", "2021-04-15"), ("2021-autumn", "2021-09-27", "2021-10-20")):
            if unit == "K001" and term == "2021-autumn":
                paid = "2021-11-05"  # the kindergarten pays late
            bulk(county, "eligibility", "publicity", posted, unit, programme, term)
            approved = bulk(county, "publicity", "approval", "2021-10-09" if term.endswith("autumn") else "2021-03-22",
                            unit, programme, term)
            assert approved == {"moved": n, "held": {}, "possible_from": {}}
            county("cases", "record", "--file", county.file("cards.csv", "case,card\n" + "\n".join(
                f"{r['case']},bank" for r in cases(county, "--unit", unit, "--term", term))), "--as-of", posted)
            assert bulk(county, "approval", "payout", paid, unit, programme, term)["moved"] == n
    docs = ";".join(["申请表", "认定表", "公示记录", "签字发放花名册", "回访记录"])
    spring_cases = cases(county, "--term", "2021-spring")
    county("cases", "record", "--file", county.file("callbacks.csv", "case,callback_outcome,documents\n" + "\n".join(
        f"{r['case']},已电话回访，资金到账,{docs}" for r in spring_cases)), "--as-of", "2021-06-01")
    for unit, programme, n in spring:
        assert bulk(county, "payout", "callback", "2021-06-02", unit, programme, "2021-spring")["moved"] == n
        assert bulk(county, "callback", "archive", "2021-06-03", unit, programme, "2021-spring")["moved"] == n
    total = sum(n for _, _, n in spring)
    states = {s: len(cases(county, "--state", s)) for s in ("archive", "payout")}
    assert states == {"archive": total, "payout": total}
    tasks = {u: {(t["task"], t["period"]): t for t in json.loads(county(
        "tasks", "list", "--unit", u, "--as-of", "2021-12-01", "--format", "json").stdout)} for u in ("S002", "K001", "S001")}
    assert tasks["S002"][("autumn-payout", "2021-10")]["status"] == "done"  # paid 20 October, due 29 October
    assert tasks["K001"][("autumn-payout", "2021-10")]["status"] == "done_late"
    assert tasks["K001"][("autumn-payout", "2021-10")]["done_at"] == "2021-11-05"
    assert "由个案完成：15 个已审核个案均已到达 payout" in tasks["K001"][("autumn-payout", "2021-10")]["note"]
    assert tasks["S001"][("autumn-payout", "2021-10")]["status"] == "overdue"  # no cases: not done by cases

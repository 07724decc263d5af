"""By the policy: identification as its own record, fee waivers waived at source, the
merit scholarship once a year, boarding allowance for non-boarders, grades per rate, a
case's life after payout, payout by the bank, the signed roster, publicity details and
the plan's items where they belong. Each fact cites its source."""
import json
import os

from aidcal.engine.masking import mask_number
from helpers import CASE_HEADER, IDENT_HEADER, ROOT, bulk, case_file, database_at, identify, make_id


def cases(aidcal, *extra):
    return json.loads(aidcal("cases", "list", "--format", "json", *extra).stdout)


def sheet(aidcal, name, rows, header=CASE_HEADER):
    return aidcal.file(name, "\n".join([header, *rows]) + "\n")


def row(k, unit, level="困难", grade="高二", card=True, boarding="是", extra=""):
    return (f"学生{k},{make_id(k)},139{k:08d},{unit},{grade},1班,{level},{f'62220212345{k:08d}' if card else ''},"
            f"{boarding}{extra}")


def paid_cases(county, n=4, unit="S002", term="2021-autumn"):
    """n senior-grant cases of `unit`, identified (困难), published, approved by 2021-10-09."""
    county("cases", "import", case_file(county, "c.csv", unit, n), "--programme", "senior-grant", "--term", term,
           "--as-of", "2021-09-20")
    bulk(county, "eligibility", "publicity", "2021-09-27", unit=unit)
    bulk(county, "publicity", "approval", "2021-10-09", unit=unit)


# ── identification (教财〔2018〕16号: once a school year, reviewed each term) ──────────
def test_identification_is_imported_listed_with_masked_ids_and_cases_take_its_level(county):
    out = identify(county, "S002", 3, level="特别困难", categories="原建档立卡|农村低保")
    assert "3 imported for the school year 2021" in out.stdout
    rows = json.loads(county("identification", "list", "--year", "2021", "--format", "json").stdout)
    assert set(rows[0]) >= {"id", "unit", "name", "id_number", "year", "level", "categories", "reviewed_on"}
    assert rows[0] == {"id": 1, "unit": "S002", "name": "学生0", "id_number": mask_number(make_id(0)), "year": 2021,
                       "level": "特别困难", "categories": ["脱贫家庭", "农村低保"], "reviewed_on": "2021-09-10", "pledge": True}
    table = county("identification", "list", "--unit", "S002").stdout
    assert "hardship identifications: 3 students" in table and "脱贫家庭, 农村低保" in table and make_id(0) not in table
    # the case sheet's level may be left empty: the case takes the identification's
    county("cases", "import", sheet(county, "c.csv", [row(k, "S002", level="") for k in range(3)]),
           "--programme", "senior-grant", "--term", "2021-autumn", "--as-of", "2021-09-20")
    listed = cases(county)
    assert {(r["level"], r["amount"]) for r in listed} == {("特别困难", 1500)}  # half of 3000 (the example's tiers)
    assert listed[0]["categories"] == ["脱贫家庭", "农村低保"]


def test_a_case_level_that_differs_from_the_identification_is_an_error(county):
    identify(county, "S002", 2, level="特别困难")
    before = county.dump()
    result = county("cases", "import", sheet(county, "c.csv", [row(0, "S002", level="困难"), row(1, "S002")]),
                    "--programme", "senior-grant", "--term", "2021-autumn", ok=False)
    assert result.exit_code == 2
    assert "c.csv: row 2: level 困难 differs from the student's identification (特别困难, identification 1)" in result.stderr
    assert "row 3:" in result.stderr and county.dump() == before


def test_the_guard_identified_holds_publicity_until_identified_with_a_signed_pledge(county):
    county("cases", "import", case_file(county, "c.csv", "S002", 3, year=None), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    assert bulk(county, "eligibility", "publicity", "2021-09-27") == {"moved": 0, "held": {"identified": 3},
                                                                      "possible_from": {}}
    identify(county, "S002", 1)  # identified afterwards: the waiting case is linked
    identify(county, "S002", 1, start=1, pledge="否")  # no signed pledge: not identified (承诺书 replaces certificates)
    assert bulk(county, "eligibility", "publicity", "2021-09-28") == {"moved": 1, "held": {"identified": 2},
                                                                      "possible_from": {}}
    held = county("cases", "advance", "3", "--to", "publicity", "--as-of", "2021-09-28", ok=False)
    assert "held by guard identified (未完成本学年家庭经济困难认定（或无承诺书）)" in held.stderr


def test_a_term_review_reaches_cases_not_yet_posted_and_never_a_posted_one(county):
    identify(county, "S002", 2, level="困难")
    county("cases", "import", case_file(county, "c.csv", "S002", 2, year=None), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    county("cases", "advance", "2", "--to", "publicity", "--as-of", "2021-09-27")
    out = county("identification", "review", "1", "--level", "特别困难", "--reason", "秋季复核：父亲重病", "--as-of", "2021-10-08")
    assert "identification 1: 特别困难; 1 cases not yet posted follow, 0 keep theirs" in out.stdout
    out = county("identification", "review", "2", "--level", "一般困难", "--reason", "秋季复核", "--as-of", "2021-10-08")
    assert "0 cases not yet posted follow, 1 keep theirs" in out.stdout
    assert [(r["level"], r["amount"]) for r in cases(county)] == [("特别困难", 1500), ("困难", 1000)]
    bad = county("identification", "review", "9", "--level", "困难", "--reason", "x", ok=False)
    assert bad.exit_code == 2 and "identification 9 does not exist" in bad.stderr


def test_identification_sheets_are_checked_like_case_sheets(county):
    rows = [f"学生0,{make_id(0)},S002,,,是,2021-09-10",  # neither level nor category
            "学生1,130402198207290622,S002,困难,,是,2021-09-10",  # a bad check character
            f"学生2,{make_id(2)},S002,困难,低保,是,2021-09-10",  # 低保 must say rural or urban
            f"学生3,{make_id(3)},S002,困难,,也许,2021-09-10",
            f"学生4,{make_id(4)},S999,困难,,是,2021-09-10",
            f"学生5,{make_id(5)},S002,困难,,是,2021-12-01"]
    result = county("identification", "import", sheet(county, "i.csv", rows, IDENT_HEADER), "--year", "2021",
                    "--as-of", "2021-09-15", ok=False)
    assert result.exit_code == 2
    for expected in ("row 2: level and categories are both empty", "row 3: id_number 130402********0622 fails its check",
                     "row 4: category 低保 must say 农村低保 or 城市低保", "row 5: pledge '也许' is not allowed",
                     "row 6: unit 'S999' is not in the roster", "row 7: reviewed_on 2021-12-01 is after 2021-09-15"):
        assert expected in result.stderr
    english = "name,id_number,unit,level,categories,pledge,reviewed_on\n" + f"学生0,{make_id(0)},S002,困难,孤儿,yes,2021/9/10\n"
    assert "1 imported" in county("identification", "import", county.file("e.csv", english), "--year", "2021",
                                  "--as-of", "2021-09-15").stdout
    again = county("identification", "import", county.file("e.csv", english), "--year", "2021", "--as-of", "2021-09-15", ok=False)
    assert "is already identified for the school year 2021" in again.stderr


# ── fee waivers: waived at source, not paid (财教〔2016〕292号) ────────────────────
def test_a_fee_waiver_by_category_needs_no_card_and_ends_waived(county):
    identify(county, "S002", 2, level="", categories="脱贫家庭")  # by category, no level needed
    county("cases", "import", sheet(county, "w.csv", [row(k, "S002", level="", card=False) for k in range(2)]),
           "--programme", "senior-fee-waiver", "--term", "2021-autumn", "--as-of", "2021-09-20")
    bulk(county, "eligibility", "publicity", "2021-09-27", programme="senior-fee-waiver")
    bulk(county, "publicity", "approval", "2021-10-09", programme="senior-fee-waiver")
    moved = bulk(county, "approval", "waived", "2021-10-11", programme="senior-fee-waiver")
    assert moved == {"moved": 2, "held": {}, "possible_from": {}}  # no has_payment_route: nothing is paid out
    assert [(r["state"], r["paid"], r["level"]) for r in cases(county)] == [("waived", 500, "不分等级")] * 2
    refused = county("cases", "payfile", "export", "--reason", "2021年秋季代发", "--programme", "senior-fee-waiver", "--term", "2021-autumn",
                     "--output", county.workdir / "pay.csv", ok=False)
    assert refused.exit_code == 2 and "waived at source" in refused.stderr


def test_a_grant_needs_a_level_where_a_category_does_not_suffice(county):
    identify(county, "S002", 1, level="", categories="脱贫家庭")
    result = county("cases", "import", sheet(county, "c.csv", [row(0, "S002", level="")]), "--programme", "senior-grant",
                    "--term", "2021-autumn", ok=False)
    assert "programme senior-grant needs a level" in result.stderr


# ── 中职国家奖学金: 6000 once a school year, merit-based, no hardship level ────────
def test_the_vocational_scholarship_pays_6000_once_a_school_year(county):
    rows = [row(k, "V001", level="", grade="二年级") for k in range(2)]
    spring = county("cases", "import", sheet(county, "s.csv", rows), "--programme", "vocational-scholarship",
                    "--term", "2022-spring", ok=False)
    assert "awarded once a school year, in full: import it for the autumn term" in spring.stderr
    levelled = county("cases", "import", sheet(county, "l.csv", [row(0, "V001", grade="二年级")]),
                      "--programme", "vocational-scholarship", "--term", "2021-autumn", ok=False)
    assert "is not awarded by hardship level: leave level empty" in levelled.stderr
    county("cases", "import", sheet(county, "s.csv", rows), "--programme", "vocational-scholarship",
           "--term", "2021-autumn", "--as-of", "2021-10-08")
    assert {r["amount"] for r in cases(county)} == {6000}  # not halved
    moved = bulk(county, "nomination", "publicity", "2021-10-11", unit="V001", programme="vocational-scholarship")
    assert moved["moved"] == 2  # merit, not hardship: no identification to wait for


# ── boarding allowance: non-boarders only in four categories, at 50% ─────────────
def test_non_boarders_receive_the_boarding_allowance_only_in_the_four_categories(county):
    county("units", "import", county.file("t.csv", "学校代码,学校名称,学校类型,乡镇,上级单位,责任人,联系电话,启用日期\n"
                                                   "T001,濉溪县特殊教育学校,特教,县直,,吴敏,0561-6300858,\n"), "--as-of", "2024-09-01")
    identify(county, "S001", 2, level="困难", year=2024)
    identify(county, "S001", 1, start=2, level="困难", categories="农村低保", year=2024)
    identify(county, "T001", 1, start=3, level="困难", year=2024)
    refused = county("cases", "import", sheet(county, "b.csv", [row(0, "S001", grade="四年级", boarding="否")]),
                     "--programme", "boarding-primary", "--term", "2024-autumn", ok=False)
    assert "a non-boarder receives boarding-primary only as one of: 脱贫家庭, 残疾学生, 农村低保, 特困供养" in refused.stderr
    county("cases", "import", sheet(county, "b.csv", [row(1, "S001", grade="四年级"), row(2, "S001", grade="四年级", boarding="否"),
                                                      row(3, "T001", grade="四年级")]),
           "--programme", "boarding-primary", "--term", "2024-autumn", "--as-of", "2024-09-20")
    assert [r["amount"] for r in cases(county)] == [625, 312.5, 625]  # 1250 a year from 2024; a special school too


# ── vocational grant: grades and 涉农专业 (October 2024 notice) ─────────────────
def test_the_vocational_grant_covers_grade_three_from_2025_and_agricultural_majors_without_a_level(county):
    header = CASE_HEADER + ",涉农专业"
    identify(county, "V001", 1, year=2024)
    identify(county, "V001", 1, year=2025)
    grade3 = county("cases", "import", sheet(county, "g.csv", [row(0, "V001", grade="三年级", extra=",否")], header),
                    "--programme", "vocational-grant", "--term", "2024-autumn", ok=False)
    assert "grade '三年级' is not covered by vocational-grant in 2024-autumn (it covers grades 1, 2," in grade3.stderr
    county("cases", "import", sheet(county, "g.csv", [row(0, "V001", grade="三年级", extra=",否"),
                                                      row(1, "V001", level="", grade="一年级", extra=",是")], header),
           "--programme", "vocational-grant", "--term", "2025-autumn", "--as-of", "2025-09-20")
    assert [(r["level"], r["amount"]) for r in cases(county)] == [("困难", 1150), ("不分等级", 1150)]  # average 2300
    assert bulk(county, "eligibility", "publicity", "2025-09-22", unit="V001", programme="vocational-grant",
                term="2025-autumn")["moved"] == 2  # the 涉农 student needs no identification


# ── a case's life after payout: 异动, 追回, transfer ─────────────────────────────
def test_a_stopped_recovered_or_transferred_case_shows_in_history_and_in_the_amounts(county):
    paid_cases(county, 3)
    county("cases", "advance", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--from", "approval", "--to", "payout", "--as-of", "2021-10-20")
    out = county("cases", "stop", "1", "--kind", "转学", "--paying-unit", "S002", "--reason", "转入外县", "--as-of", "2021-11-02")
    assert "case 1: stopped (转学); this term is paid by S002" in out.stdout
    county("cases", "recover", "2", "--amount", "1000", "--on", "2021-12-01", "--reason", "虚报家庭收入", "--as-of", "2021-12-02")
    over = county("cases", "recover", "3", "--amount", "1000.01", "--on", "2021-12-01", "--reason", "x", ok=False)
    assert "more than the 1000.00 yuan paid and not yet recovered" in over.stderr
    county("cases", "transfer", "3", "--to-unit", "S003", "--reason", "随父母迁居", "--as-of", "2021-11-10")
    listed = {r["case"]: r for r in cases(county)}
    assert (listed[1]["state"], listed[1]["paid"]) == ("stopped", 1000)
    assert (listed[2]["state"], listed[2]["paid"], listed[2]["recovered"]) == ("recovered", 1000, 1000)
    assert (listed[3]["state"], listed[3]["unit"]) == ("payout", "S003")
    history = json.loads(county("cases", "history", "2", "--format", "json").stdout)
    assert history[-1]["trigger"] == "recover" and "追回 1000.00 元（2021-12-01）：虚报家庭收入" in history[-1]["reason"]
    moved = json.loads(county("cases", "history", "3", "--format", "json").stdout)[-1]
    assert moved["trigger"] == "transfer" and "由 濉溪中学（S002）转至 濉溪第二中学（S003）" in moved["reason"]
    stop = json.loads(county("cases", "history", "1", "--format", "json").stdout)[-1]["reason"]
    assert "异动（转学）：转入外县；已发放 1000.00 元，本学期由 濉溪中学（S002）发放" == stop
    unpaid = county("cases", "recover", "1", "--amount", "1", "--on", "2021-12-01", "--reason", "x", "--as-of", "2021-12-02")
    assert unpaid.exit_code == 0  # a stopped case paid before the stop can still be recovered


def test_the_donor_scholarship_terminates_after_award_and_a_reapplication_links_to_last_year(county):
    rows = [row(0, "340621", level="", grade="大一")]
    county("cases", "import", sheet(county, "d.csv", rows), "--programme", "donor-scholarship", "--term", "2021-autumn")
    county("cases", "import", sheet(county, "d2.csv", rows), "--programme", "donor-scholarship", "--term", "2022-autumn")
    assert county.scalar("SELECT previous_case_id FROM aid_case WHERE term = '2022-autumn'") == 1
    assert {r["amount"] for r in cases(county)} == {4000}
    for dest, day in (("first_review", "2021-10-08"), ("publicity", "2021-10-11"), ("award", "2021-10-18")):
        county("cases", "advance", "1", "--to", dest, "--as-of", day)
    county("cases", "advance", "1", "--to", "terminated", "--as-of", "2021-11-01")  # the fund's termination clause
    assert cases(county, "--term", "2021-autumn")[0]["state"] == "terminated"


# ── payout by the bank (代发) and the signed roster ─────────────────────────────
def test_a_bank_return_with_failures_leaves_exactly_the_failed_cases_unpaid(county):
    paid_cases(county, 4)
    out = county.workdir / "pay.csv"
    result = county("cases", "payfile", "export", "--reason", "2021年秋季代发", "--programme", "senior-grant", "--term", "2021-autumn",
                    "--output", out)
    assert "payment file of 4 cases, 4000.00 yuan" in result.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "姓名,身份证号,银行卡号,金额" and make_id(0) in text and "6222021234500000000" in text
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    bad = county.file("bad.csv", f"身份证号,金额,结果,原因\n{make_id(0)},999,成功,\n")
    before = county.dump()
    refused = county("cases", "bankreturn", "import", bad, "--programme", "senior-grant", "--term", "2021-autumn", ok=False)
    assert "row 2: amount '999' is not the case's 1000.00" in refused.stderr and county.dump() == before
    back = county.file("back.csv", "身份证号,金额,结果,原因\n" + "".join(
        f"{make_id(k)},1000.00,{'失败' if k == 2 else '成功'},{'户名与卡号不符' if k == 2 else ''}\n" for k in range(4)))
    out_text = county("cases", "bankreturn", "import", back, "--programme", "senior-grant", "--term", "2021-autumn",
                      "--as-of", "2021-10-22").stdout
    assert "bank return: 3 paid, 1 failed" in out_text
    states = {r["case"]: (r["state"], r["paid"]) for r in cases(county)}
    assert states == {1: ("payout", 1000), 2: ("payout", 1000), 3: ("approval", None), 4: ("payout", 1000)}
    assert county.scalar("SELECT paid_on FROM aid_case WHERE id = 1") == "2021-10-22"
    assert "银行代发失败：户名与卡号不符" in json.loads(county("cases", "history", "3", "--format", "json").stdout)[-1]["reason"]
    county("cases", "payfile", "export", "--reason", "2021年秋季代发", "--programme", "senior-grant", "--term", "2021-autumn", "--output", out)
    assert [line.split(",")[1] for line in out.read_text(encoding="utf-8-sig").splitlines()[1:]] == [make_id(2)]


def exported_roster(county, n, out):
    """n cases paid on 2021-10-20 and S002's roster of them exported to `out`: its lines."""
    paid_cases(county, n)
    county("cases", "advance", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--from", "approval", "--to", "payout", "--as-of", "2021-10-20")
    county("cases", "roster", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--output", out)
    return out.read_text(encoding="utf-8-sig").splitlines()


def test_the_signed_roster_masks_ids_shows_no_card_and_records_who_signed(county):
    out = county.workdir / "roster.csv"
    lines = exported_roster(county, 3, out)
    assert lines[0] == "个案编号,学校代码,姓名,身份证号,年级,班级,资助项目,金额（元）,签字人（本人/监护人）,签字日期"
    assert mask_number(make_id(0)) in lines[1] and make_id(0) not in out.read_text(encoding="utf-8-sig")
    assert "62220212345" not in out.read_text(encoding="utf-8-sig")
    signed = [lines[0], lines[1][:-1] + "本人,2021-10-25", lines[2][:-1] + "监护人,2021-10-26", lines[3]]
    result = county("cases", "roster", "import", county.file("signed.csv", "\n".join(signed) + "\n"), "--as-of", "2021-10-27")
    assert "roster: 2 signed, 1 not yet signed" in result.stdout
    assert county.scalar("SELECT roster_signed_by FROM aid_case WHERE id = 2") == "监护人"
    assert county.scalar("SELECT count(*) FROM case_document WHERE name = '签字发放花名册'") == 2
    wrong = county.file("w.csv", lines[0] + "\n" + lines[1][:-1] + "同学,2021-10-25\n")
    assert "signed_by '同学' is not allowed (本人 or 监护人)" in county("cases", "roster", "import", wrong, ok=False).stderr


# ── publicity details ────────────────────────────────────────────────────────
def test_the_publicity_list_carries_both_phones_its_taking_down_and_the_tier_where_set(county):
    paid_cases(county, 2)
    out = county.workdir / "p.csv"
    county("publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--format", "csv", "--output", out)
    text = out.read_text(encoding="utf-8-sig")
    assert "学校监督电话：0561-6012345" in text and "濉溪县教育局监督电话：0561-6866001" in text
    early = county("publicity", "takedown", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
                   "--as-of", "2021-10-08", ok=False)
    assert "still in their publicity period on 2021-10-08" in early.stderr
    county("publicity", "takedown", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--as-of", "2021-10-09")
    flow = (ROOT / "workflows" / "student_aid.yaml").read_text(encoding="utf-8").replace(
        "count_posting_day: true", "count_posting_day: true\n  shows: tier", 1)
    county("workflow", "load", county.file("student_aid.yaml", flow))
    county("publicity", "export", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--format", "csv", "--output", out)
    text = out.read_text(encoding="utf-8-sig")
    assert "本名单于 2021-10-09 撤下" in text and "资助档次" in text and "二档" in text and "困难等级" not in text


def test_the_donor_fund_publicity_names_the_donor_phone(county):
    county("cases", "import", sheet(county, "d.csv", [row(0, "340621", level="", grade="大一")]),
           "--programme", "donor-scholarship", "--term", "2021-autumn")
    county("cases", "advance", "1", "--to", "first_review", "--as-of", "2021-10-08")
    county("cases", "advance", "1", "--to", "publicity", "--as-of", "2021-10-11")
    out = county.workdir / "p.csv"
    county("publicity", "export", "--unit", "340621", "--programme", "donor-scholarship", "--term", "2021-autumn",
           "--format", "csv", "--output", out)
    assert "捐资方监督电话：0913-2933158" in out.read_text(encoding="utf-8-sig")


# ── the plan's items where they belong ──────────────────────────────────────────
def instances(county, key):
    return county.scalar("SELECT group_concat(code, ',') FROM (SELECT DISTINCT u.code FROM task_instance i "
                         "JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON o.id = i.occurrence_id "
                         f"JOIN task t ON t.id = o.task_id WHERE t.key = '{key}' ORDER BY u.code) x") \
        if county.url.startswith("sqlite") else county.scalar(
            "SELECT string_agg(code, ',' ORDER BY code) FROM (SELECT DISTINCT u.code FROM task_instance i "
            "JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON o.id = i.occurrence_id "
            f"JOIN task t ON t.id = o.task_id WHERE t.key = '{key}') x")


def test_the_bureau_has_its_own_share_of_shared_items_and_fee_charging_units_their_own_aid(county):
    assert instances(county, "monthly-report") == "340621,K001,N001,S001,S002,S003,V001"  # the bureau's report to the province
    assert instances(county, "annual-summary").startswith("340621,")
    assert instances(county, "school-own-aid") == "K001,N001,S002,S003,V001"  # 财教〔2021〕310号: fee-charging units only
    assert instances(county, "archive-binding") == "K001,N001,S001,S002,S003,V001"  # 教助〔2021〕3号: 装订成册
    assert instances(county, "year-planning") == "340621"


# ── an upgraded database gets the new shipped rules ──────────────────────────────
def test_an_upgrade_stores_the_new_shipped_workflows_and_replaces_only_shipped_programmes(tmp_path):
    from sqlalchemy import text

    from aidcal.engine import store
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database_at(url, "0007", "DELETE FROM rule_file WHERE name IN ('fee_waiver', 'merit_scholarship', 'loan')",
                "UPDATE rule_file SET text = replace(text, 'workflow: fee_waiver', 'workflow: student_aid'), sha256 = 'old' "
                "WHERE kind = 'programmes'")
    engine = store.connect(url)
    with store.reading(engine) as conn:
        names = set(conn.execute(text("SELECT name FROM rule_file WHERE kind = 'workflow'")).scalars())
        assert {"fee_waiver", "merit_scholarship", "loan"} <= names
        assert conn.execute(text("SELECT max(version) FROM rule_file WHERE kind = 'programmes'")).scalar() == 2


# ── the shipped standards, by their sources ─────────────────────────────────────
def test_the_shipped_standards_follow_the_national_documents():
    from aidcal.engine import programmes as progs
    shipped = progs.parse((ROOT / "programmes.yaml").read_text(encoding="utf-8"), "programmes.yaml")
    for key in ("senior-grant", "vocational-grant"):  # October 2024 notice: average 2300, range 1200–3500 from 2025
        tiers = shipped[key].rate("2025-spring").amounts
        assert all(1200 <= tiers[level] <= 3500 for level in progs.LEVELS)
        assert sum(tiers[level] for level in progs.LEVELS) / 3 == 2300
        assert shipped[key].rate("2024-autumn").amounts["hard"] == 2000
    assert shipped["vocational-grant"].rate("2024-autumn").grades == (1, 2)
    assert shipped["vocational-grant"].rate("2025-spring").grades == (1, 2, 3)
    assert shipped["boarding-primary"].amount_fen("2024-spring", "", True) == 62500  # 1250 a year from 2024 spring
    assert shipped["boarding-junior"].amount_fen("2023-autumn", "", True) == 62500  # 1250 before, 1500 after
    assert shipped["vocational-scholarship"].amount_fen("2021-autumn", "", True) == 600000  # once a year, in full
    assert shipped["student-loan"].rate("2024-autumn").amounts["any"] == 20000  # undergraduates, from 2024 autumn
    assert shipped["free-preschool-year"].rate("2025-spring") is None  # 国办发〔2025〕27号: from 2025 autumn
    assert shipped["senior-fee-waiver"].workflow == shipped["vocational-tuition-waiver"].workflow == "fee_waiver"
    assert not shipped["vocational-scholarship"].hardship_level and shipped["donor-scholarship"].supervision_phone


# ── what a careful reviewer tried ───────────────────────────────────────────────
def test_a_review_that_would_leave_a_case_without_a_qualifying_level_is_refused(county):
    identify(county, "S002", 1, level="困难", categories="孤儿")
    county("cases", "import", case_file(county, "c.csv", "S002", 1, year=None), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    before = county.dump()
    refused = county("identification", "review", "1", "--level", "无", "--reason", "复核", ok=False)
    assert refused.exit_code == 2 and "case 1: the student has no level" in refused.stderr and county.dump() == before


def test_a_fee_waiver_by_category_refuses_a_level_without_a_category(county):
    identify(county, "S002", 1, level="困难")  # 财教〔2016〕292号: by category, not by level
    result = county("cases", "import", sheet(county, "w.csv", [row(0, "S002", level="", card=False)]),
                    "--programme", "senior-fee-waiver", "--term", "2021-autumn", ok=False)
    assert "programme senior-fee-waiver goes by category" in result.stderr


def test_a_non_boarder_in_a_qualifying_category_needs_no_level(county):
    identify(county, "S001", 1, level="", categories="脱贫家庭", year=2024)
    county("cases", "import", sheet(county, "b.csv", [row(0, "S001", level="", grade="四年级", boarding="否")]),
           "--programme", "boarding-primary", "--term", "2024-autumn", "--as-of", "2024-09-20")
    assert cases(county)[0]["amount"] == 312.5


def test_recovery_in_parts_until_all_is_back_and_never_before_the_payment(county):
    paid_cases(county, 1)
    county("cases", "advance", "1", "--to", "payout", "--as-of", "2021-10-20")
    early = county("cases", "recover", "1", "--amount", "1", "--on", "2021-10-19", "--reason", "x", "--as-of", "2021-12-02",
                   ok=False)
    assert "is before the case was paid (2021-10-20)" in early.stderr
    county("cases", "recover", "1", "--amount", "400", "--on", "2021-12-01", "--reason", "虚报", "--as-of", "2021-12-02")
    assert (cases(county)[0]["state"], cases(county)[0]["recovered"]) == ("payout", 400)
    county("cases", "recover", "1", "--amount", "600", "--on", "2021-12-10", "--reason", "虚报", "--as-of", "2021-12-10")
    assert (cases(county)[0]["state"], cases(county)[0]["recovered"]) == ("recovered", 1000)
    history = json.loads(county("cases", "history", "1", "--format", "json").stdout)
    assert "尚余 600.00 元待追回" in history[-2]["reason"] and history[-1]["to_state"] == "recovered"


def test_a_stop_names_a_school_the_programme_serves_and_a_final_case_is_not_transferred(county):
    paid_cases(county, 2)
    county("cases", "advance", "--unit", "S002", "--programme", "senior-grant", "--term", "2021-autumn",
           "--from", "approval", "--to", "payout", "--as-of", "2021-10-20")
    wrong = county("cases", "stop", "1", "--kind", "转学", "--paying-unit", "K001", "--reason", "x", ok=False)
    assert "unit 'K001' is not a school that programme senior-grant serves" in wrong.stderr
    county("cases", "recover", "2", "--amount", "1000", "--on", "2021-12-01", "--reason", "虚报", "--as-of", "2021-12-02")
    final = county("cases", "transfer", "2", "--to-unit", "S003", "--reason", "x", ok=False)
    assert "a final state" in final.stderr


def test_a_refused_card_is_replaced_and_a_bank_return_read_twice_changes_nothing(county):
    paid_cases(county, 2)
    back = county.file("back.csv", f"身份证号,金额,结果,原因\n{make_id(0)},1000.00,成功,\n{make_id(1)},1000.00,失败,账户已销户\n")
    county("cases", "bankreturn", "import", back, "--programme", "senior-grant", "--term", "2021-autumn", "--as-of", "2021-10-22")
    failed_only = county.file("f.csv", f"身份证号,金额,结果,原因\n{make_id(1)},1000.00,失败,账户已销户\n")
    county("cases", "bankreturn", "import", failed_only, "--programme", "senior-grant", "--term", "2021-autumn",
           "--as-of", "2021-10-22")
    assert county.scalar("SELECT count(*) FROM case_event WHERE trigger = 'bank_failed'") == 1
    again = county("cases", "bankreturn", "import", back, "--programme", "senior-grant", "--term", "2021-autumn",
                   "--as-of", "2021-10-23", ok=False)
    assert "was paid already on 2021-10-22" in again.stderr
    early = county.file("e.csv", f"身份证号,金额,结果,原因\n{make_id(1)},1000.00,成功,\n")
    dated = county("cases", "bankreturn", "import", early, "--programme", "senior-grant", "--term", "2021-autumn",
                   "--as-of", "2021-10-01", ok=False)
    assert "was approved on 2021-10-09: a return dated 2021-10-01 cannot pay it" in dated.stderr
    county("cases", "record", "2", "--bank-card", "6228480012345678901", "--as-of", "2021-10-25")
    out = county.workdir / "pay.csv"
    county("cases", "payfile", "export", "--reason", "2021年秋季代发", "--programme", "senior-grant", "--term", "2021-autumn", "--output", out)
    assert "6228480012345678901" in out.read_text(encoding="utf-8-sig")


def test_a_roster_changed_after_export_or_with_a_row_twice_is_refused(county):
    lines = exported_roster(county, 2, county.workdir / "roster.csv")
    twice = county.file("t.csv", "\n".join([lines[0], lines[1][:-1] + "本人,2021-10-25", lines[1][:-1] + "本人,2021-10-25"]))
    assert "case 1 is already in row 2" in county("cases", "roster", "import", twice, ok=False).stderr
    changed = county.file("c.csv", "\n".join([lines[0], lines[1].replace("1000.00", "99999.00")[:-1] + "本人,2021-10-25"]))
    assert "the amount differs from the 1000.00 paid" in county("cases", "roster", "import", changed, ok=False).stderr
    early = county.file("e.csv", "\n".join([lines[0], lines[1][:-1] + "本人,2021-10-01"]))
    assert "is before the payment on 2021-10-20" in county("cases", "roster", "import", early, ok=False).stderr


def test_a_name_that_a_spreadsheet_would_run_is_refused(county):
    identify(county, "S002", 1)
    bad = row(0, "S002").replace("学生0", "=1+1", 1)
    result = county("cases", "import", sheet(county, "c.csv", [bad]), "--programme", "senior-grant",
                    "--term", "2021-autumn", ok=False)
    assert "name must not begin with =, +, - or @" in result.stderr

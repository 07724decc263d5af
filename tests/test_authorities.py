"""A province, a city and two counties in one database: each plan applies to the
units under its authority, supervisors see their own subtree (a city rolled up by
county), and a task key two plans share needs --plan."""
import json

import pytest

from aidcal.engine import overdue, store
from helpers import HEADER_EN, case_file, shipped_plan_from_new_year

PROVINCE = """version: 1
authority: {code: "340000", name: 安徽省教育厅}
year: 2021
timezone: Asia/Shanghai
roll: forward
tasks:
  - key: monthly-report
    title: 每月 10 日前向省厅报送资助月报
    who: all
    months: all
    day: 10
  - key: province-audit
    title: 6 月 30 日前完成资助资金自查
    who: all
    due: 06-30
"""
CITY = """version: 1
authority: {code: "340600", name: 淮北市教育局}
year: 2021
timezone: Asia/Shanghai
roll: forward
tasks:
  - key: city-survey
    title: 3 月 15 日前报送家庭经济困难学生认定情况
    who: all
    due: 03-15
"""
ROSTER = f"""{HEADER_EN},authority
S1,濉溪县实验小学,小学,濉溪镇,,王伟,13912345678,,340621
X1,萧县实验小学,小学,龙城镇,,李芳,13912345679,,340622
C1,淮北市实验小学,小学,市直,,张敏,13912345670,,340600
"""


@pytest.fixture
def province(aidcal):
    """The province's, the city's and two counties' plans (Suixi's shipped plan, Xiaoxian's a copy of it)."""
    suixi = shipped_plan_from_new_year()
    xiaoxian = suixi.replace('code: "340621"', 'code: "340622"').replace("濉溪县教育局", "萧县教育局")
    for name, text in (("province", PROVINCE), ("city", CITY), ("suixi", suixi), ("xiaoxian", xiaoxian)):
        aidcal("calendar", "load", aidcal.file(f"{name}.yaml", text), "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("units.csv", ROSTER), "--as-of", "2021-01-01")
    return aidcal


def plans_of(aidcal, unit):
    rows = json.loads(aidcal("tasks", "list", "--unit", unit, "--as-of", "2021-01-01", "--format", "json").stdout)
    return {(r["plan"], r["task"]) for r in rows}


def test_a_plan_applies_to_the_units_under_its_authority_only(province):
    suixi, xiaoxian, city_school = (plans_of(province, u) for u in ("S1", "X1", "C1"))
    assert {plan for plan, _ in suixi} == {"340000", "340600", "340621"}
    assert {plan for plan, _ in xiaoxian} == {"340000", "340600", "340622"}
    assert {plan for plan, _ in city_school} == {"340000", "340600"}  # 市直: no county's plan
    assert ("340621", "system-update") in suixi and ("340622", "system-update") not in suixi
    # bureau work stays with the bureau that set it: Suixi's own tasks are not Xiaoxian's
    assert {p for p, _ in plans_of(province, "340621")} == {"340621"}
    assert {p for p, _ in plans_of(province, "340622")} == {"340622"}


def test_a_county_sees_its_schools_and_a_city_its_counties_rolled_up(province):
    def units(*args):
        rows = json.loads(province("overdue", "--as-of", "2021-04-01", "--format", "json", *args).stdout)
        return {r["unit"] for r in rows}
    assert units("--authority", "340621") == {"S1", "340621"}
    assert units("--authority", "340600") == {"S1", "X1", "C1", "340621", "340622"}
    assert units("--authority", "340600", "--plan", "340600") == {"S1", "X1", "C1"}
    with store.reading(province.engine()) as conn:
        columns, groups = overdue.summary(conn, overdue.date(2021, 4, 1), authority="340600")
    assert columns[:2] == ["authority", "authority_name"]
    by_county = {g["authority"]: g for g in groups}
    assert set(by_county) == {"340621", "340622", "340600"}
    assert by_county["340621"]["authority_name"] == "濉溪县教育局"
    assert by_county["340621"]["units"] == 2  # the school and the bureau's own work
    assert by_county["340600"]["units"] == 1  # the city's own school; the city bureau has no plan work here
    table = province("overdue", "--as-of", "2021-04-01", "--authority", "340600").stdout
    assert "萧县教育局" in table and "Bureau" in table


def test_a_task_key_of_two_plans_needs_plan_and_says_so(province):
    before = province.dump()
    missing = province("tasks", "done", "--unit", "S1", "monthly-report", "--period", "2021-01",
                       "--as-of", "2021-01-05", ok=False)
    assert missing.exit_code == 2
    assert "from the plans of 2 authorities (340000, 340621); pass --plan CODE" in missing.stderr
    assert province.dump() == before
    province("tasks", "done", "--unit", "S1", "monthly-report", "--period", "2021-01", "--plan", "340000",
             "--as-of", "2021-01-05")
    done = {(r["plan"], r["status"]) for r in json.loads(province(
        "tasks", "list", "--unit", "S1", "--month", "2021-01", "--as-of", "2021-02-01", "--format", "json").stdout)
        if r["task"] == "monthly-report"}
    assert done == {("340000", "done"), ("340621", "overdue")}


def test_a_completion_sheet_names_the_plan_where_keys_collide(province):
    sheet = province.file("done.csv", "unit,task,period,done_at,note\nS1,monthly-report,2021-02,2021-02-08,\n")
    refused = province("tasks", "import", sheet, "--as-of", "2021-02-09", ok=False)
    assert "plans of 2 authorities (340000, 340621); name one in a plan column" in refused.stderr
    sheet = province.file("done2.csv", "unit,task,period,done_at,note,plan\nS1,monthly-report,2021-02,2021-02-08,,340000\n")
    assert "1 recorded" in province("tasks", "import", sheet, "--as-of", "2021-02-09").stdout
    assert province.scalar("SELECT count(*) FROM task_instance WHERE done_on IS NOT NULL") == 1


def test_a_roster_without_authority_is_refused_when_several_have_plans(province):
    before = province.dump()
    result = province("units", "import", province.file("new.csv", f"{HEADER_EN}\nN1,新学校,小学,镇,,王,13912345671,\n"),
                      ok=False)
    assert result.exit_code == 2
    assert "plans of 340000, 340600, 340621, 340622 are loaded" in result.stderr and "--authority" in result.stderr
    assert province.dump() == before
    province("units", "import", province.file("new.csv", f"{HEADER_EN}\nN1,新学校,小学,镇,,王,13912345671,\n"),
             "--authority", "340622", "--as-of", "2021-01-01")
    assert {p for p, _ in plans_of(province, "N1")} == {"340000", "340600", "340622"}


def test_a_school_moved_to_another_county_takes_its_plan_from_the_move_on(province):
    moved = ROSTER.replace("S1,濉溪县实验小学,小学,濉溪镇,,王伟,13912345678,,340621",
                           "S1,濉溪县实验小学,小学,濉溪镇,,王伟,13912345678,,340622")
    out = province("units", "import", province.file("moved.csv", moved), "--as-of", "2021-06-01").stdout
    assert "1 changed" in out
    rows = json.loads(province("tasks", "list", "--unit", "S1", "--as-of", "2021-06-01", "--format", "json").stdout)
    suixi = [r for r in rows if r["plan"] == "340621"]
    xiaoxian = [r for r in rows if r["plan"] == "340622"]
    assert {r["status"] for r in suixi if r["due"] >= "2021-06-01"} == {"cancelled"}
    assert all(r["status"] != "cancelled" for r in suixi if r["due"] < "2021-06-01")  # the past stays as it was
    assert xiaoxian and min(r["due"] for r in xiaoxian) >= "2021-06-01"


def test_notices_are_drafted_by_the_authority_whose_plan_was_missed(province):
    province("escalate", "--as-of", "2021-02-01", "--format", "json")
    def issuers(*args):
        return {n["authority"] for n in json.loads(province("notices", "list", "--format", "json", *args).stdout)}
    assert issuers() >= {"340000", "340621", "340622"}
    assert issuers("--authority", "340621") == {"340621"}
    assert issuers("--authority", "340600") == {"340621", "340622"}  # the city's counties (its own plan: none due yet)


def test_a_city_lists_the_cases_of_its_counties_only(province):
    roster = province.file("high.csv", f"{HEADER_EN},authority\nH1,濉溪中学,高中,县直,,李,13912345671,,340621\n"
                                       "H2,萧县中学,高中,县直,,王,13912345672,,340622\nH3,宿州一中,高中,市直,,张,13912345673,,341300\n")
    province("units", "import", roster, "--as-of", "2021-01-01")
    for k, unit in enumerate(("H1", "H2", "H3")):
        province("cases", "import", case_file(province, f"c{k}.csv", unit, 3, start=10 * k), "--programme",
                 "senior-grant", "--term", "2021-autumn", "--as-of", "2021-09-20")
    def units(*args):
        return {c["unit"] for c in json.loads(province("cases", "list", "--format", "json", *args).stdout)}
    assert units("--authority", "340600") == {"H1", "H2"}
    assert units("--authority", "340622") == {"H2"}
    assert units("--authority", "340000") == {"H1", "H2", "H3"}

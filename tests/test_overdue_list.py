"""The supervisor's overdue list: exact rows for any as-of date, summaries, and files Excel opens."""
import csv
import io
import json

from openpyxl import load_workbook


def overdue(aidcal, as_of, *extra):
    return json.loads(aidcal("overdue", "--as-of", as_of, "--format", "json", *extra).stdout)


def test_overdue_is_due_before_d_and_not_done_by_d(county):
    county("tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01", "--as-of", "2021-01-25")
    on_due_day = overdue(county, "2021-01-20", "--unit", "S001")
    assert on_due_day == []  # due today is not yet overdue
    day_after = overdue(county, "2021-01-21", "--unit", "S001")
    assert [(r["task"], r["days_overdue"], r["workdays_overdue"]) for r in day_after] == [("system-update", 1, 1)]
    assert overdue(county, "2021-01-26", "--unit", "S001") == []  # done by then
    assert set(day_after[0]) == {"unit", "unit_name", "town", "type", "task", "title", "period", "due",
                                 "days_overdue", "workdays_overdue", "authority", "plan"}


def test_workdays_overdue_skip_the_holiday_and_count_make_up_days(county):
    rows = overdue(county, "2021-10-09", "--unit", "S002")
    sept = next(r for r in rows if r["task"] == "system-update" and r["period"] == "2021-09")
    assert sept["due"] == "2021-09-22"
    # (22 Sep, 9 Oct]: 23, 24, Sun 26 (make-up), 27–30 Sep; 1–7 Oct National Day; 8, Sat 9 (make-up)
    assert sept["days_overdue"] == 17 and sept["workdays_overdue"] == 9


def test_filters_by_town_and_type_match_multi_type_units(county):
    seniors = {r["unit"] for r in overdue(county, "2021-06-01", "--type", "高中")}
    assert seniors == {"S002", "S003"}
    assert {r["unit"] for r in overdue(county, "2021-06-01", "--town", "濉溪镇")} == {"S001", "K001"}


def test_bureau_lateness_is_listed_under_the_bureau(county):
    rows = overdue(county, "2021-05-01", "--unit", "340621")
    assert {r["task"] for r in rows} >= {"year-planning", "monthly-inspection"}


def test_the_summary_counts_the_bureaus_own_work_apart_from_the_lagging_units(county):
    """The bureau's own late work is shown, but the bureau is not one of the units it supervises that lag."""
    rows = overdue(county, "2021-05-01")
    schools = {r["unit"] for r in rows} - {"340621"}
    own = sum(r["unit"] == "340621" for r in rows)
    assert own and schools
    title = county("overdue", "--as-of", "2021-05-01").stdout.splitlines()[0]
    assert f"{len(rows)} tasks ({own} the bureau's own work), {len(schools)} units" in title


def test_table_shows_summary_by_town_and_type(county):
    out = county("overdue", "--as-of", "2021-03-02", "--limit", "3").stdout
    assert "overdue as of 2021-03-02" in out and "濉溪镇" in out and "初中、高中" in out  # a roster's 初中|高中, as people read it
    assert "the 3 longest overdue" in out


def test_csv_file_has_a_bom_and_every_row(county, tmp_path):
    path = tmp_path / "o.csv"
    county("overdue", "--as-of", "2021-06-01", "--format", "csv", "--output", path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["学校代码", "学校名称"] and len(rows) - 1 == len(overdue(county, "2021-06-01"))


def test_xlsx_keeps_codes_as_text(county, tmp_path):
    path = tmp_path / "o.xlsx"
    county("overdue", "--as-of", "2021-06-01", "--format", "xlsx", "--output", path)
    book = load_workbook(path)
    sheet = book.active
    assert book.sheetnames == ["逾期任务（截至 2021-06-01）"] and sheet["A1"].value == "逾期任务（截至 2021-06-01）"  # a title row
    assert sheet["A2"].value == "学校代码" and isinstance(sheet["A3"].value, str)  # codes stay text
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")  # header frozen and filtered
    due = next(c for c in sheet[2] if c.value == "截止日期").column
    assert sheet.cell(3, due).is_date and sheet.cell(3, due).number_format == "yyyy-mm-dd"  # dates as dates
    assert sheet.column_dimensions["B"].width >= 16  # wide enough for a school's Chinese name
    assert sheet.max_row - 2 == len(overdue(county, "2021-06-01"))


def test_money_in_a_workbook_is_exact_yuan_with_two_decimals(tmp_path):
    from decimal import Decimal

    from aidcal.actions.exports import write_xlsx
    write_xlsx([{"name": "甲", "amount": 312.5}, {"name": "乙", "amount": "625.00"}], ["name", "amount"], {}, tmp_path / "m.xlsx",
               "发放名单")
    sheet = load_workbook(tmp_path / "m.xlsx").active
    assert [sheet.cell(r, 2).value for r in (3, 4)] == [312.5, 625] and sheet.cell(3, 2).number_format == '"¥"#,##0.00'
    assert Decimal(str(sheet.cell(3, 2).value)) == Decimal("312.5")  # never 312.5000001


def test_year_filter_keeps_one_plan(county, calendar_file):
    county("calendar", "load", calendar_file, "--year", "2022", "--as-of", "2022-01-01")
    both = overdue(county, "2022-03-01")
    only_2022 = overdue(county, "2022-03-01", "--year", "2022")
    assert {r["period"][:4] for r in both} == {"2021", "2022"}
    assert {r["period"][:4] for r in only_2022} == {"2022"}

"""Roster import: encodings, XLSX, multi-type units, all-or-nothing errors, re-import, close."""
import json

from helpers import HEADER_EN, SMALL_ROSTER

ZH_HEADER = "学校代码,学校名称,学校类型,乡镇,上级单位,责任人,联系电话,启用日期"


def test_gb18030_csv_with_chinese_header_imports(planned):
    aidcal = planned
    path = aidcal.workdir / "roster.csv"
    path.write_bytes(f"{ZH_HEADER}\nA1,韩村镇中心学校,小学|初中,韩村镇,,王伟,13912345678,\n".encode("gb18030"))
    assert "1 added" in aidcal("units", "import", path, "--authority", "340621").stdout
    assert aidcal.scalar("SELECT name FROM unit WHERE code='A1'") == "韩村镇中心学校"


def test_utf8_bom_csv_imports(planned):
    aidcal = planned
    path = aidcal.workdir / "roster.csv"
    path.write_bytes("\ufeff".encode() + SMALL_ROSTER.encode())
    assert "6 added" in aidcal("units", "import", path, "--authority", "340621").stdout


def test_xlsx_roster_with_numeric_codes_imports(planned):
    aidcal = planned
    from openpyxl import Workbook
    book = Workbook()
    book.active.append(ZH_HEADER.split(","))
    book.active.append([3406210001, "濉溪中学", "高中", "县直", None, "李芳", 13912345678, None])
    path = aidcal.workdir / "roster.xlsx"
    book.save(path)
    assert "1 added" in aidcal("units", "import", path, "--authority", "340621").stdout
    assert aidcal.scalar("SELECT code FROM unit WHERE code <> '340621'") == "3406210001"  # beside the bureau itself


def test_every_bad_row_is_listed_with_its_excel_row_and_nothing_is_written(county):
    before = county.dump()
    bad = county.file("bad.csv", f"""{HEADER_EN}
S001,濉溪镇中心学校,小学,濉溪镇,,王伟,13912345678,
X1,某学校,大学,濉溪镇,,王伟,13912345678,
X2,某学校,小学,濉溪镇,,王伟,12345,
S001,重复,小学,濉溪镇,,王伟,13912345678,
X3,某学校,小学,濉溪镇,,王伟,13912345678,2021-02-30
""")
    result = county("units", "import", bad, ok=False)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: bad.csv: row 3: type '大学' is unknown")
    assert "row 4: phone ***45 is not a mobile" in lines[1]  # masked, never in full
    assert "row 5: code 'S001' is already used in row 2" in lines[2]
    assert "row 6: active_from '2021-02-30' is not a date" in lines[3]
    assert county.dump() == before


def test_reimport_reports_added_changed_unchanged_and_never_deletes(county):
    changed = SMALL_ROSTER.replace("李芳", "李芳芳").replace("N001,城东新区幼儿园,幼儿园,县直,,杨洋,13612345672,2021-03-01\n", "")
    out = county("units", "import", county.file("u2.csv", changed + "Z9,新校,小学,县直,,王强,13512345678,\n"),
                 "--as-of", "2021-06-01").stdout
    assert "1 added, 1 changed, 4 unchanged" in out
    assert county.scalar("SELECT count(*) FROM unit WHERE code='N001'") == 1


def test_multi_type_unit_gets_each_task_once_and_keeps_its_type_string(county):
    rows = json.loads(county("tasks", "list", "--unit", "S003", "--month", "2021-05", "--as-of", "2021-05-01",
                             "--format", "json").stdout)
    keys = [r["task"] for r in rows]
    assert len(keys) == len(set(keys))
    assert "loan-preapplication" in keys  # senior
    assert county.scalar("SELECT type FROM unit WHERE code='S003'") == "初中|高中"


def test_close_cancels_open_tasks_due_after_the_date_only(county):
    out = county("units", "close", "K001", "--as-of", "2021-06-30").stdout
    assert "closed" in out
    overdue = json.loads(county("overdue", "--as-of", "2021-08-01", "--unit", "K001", "--format", "json").stdout)
    assert overdue and all(r["due"] <= "2021-06-30" for r in overdue)
    july = json.loads(county("tasks", "list", "--unit", "K001", "--month", "2021-07", "--as-of", "2021-08-01",
                             "--format", "json").stdout)
    assert {r["status"] for r in july} == {"cancelled"}

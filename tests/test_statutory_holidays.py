"""The year ahead without its holiday notice: statutory holidays by the law.

《全国年节及纪念日放假办法》 as amended by State Council Decree No. 795 (2024-11-10,
in force 2025-01-01): 元旦 1, 春节 4 (除夕–初三), 清明 1, 劳动节 2 (5-01–5-02),
端午 1, 中秋 1, 国庆 3 (10-01–10-03); a holiday on a weekend is made up after it.
The yearly notice's 调休 comes from calendar.yaml (see docs/calendar-format.md)."""
from __future__ import annotations

import json
from datetime import date, timedelta

from aidcal.engine.statutory import days_off
from aidcal.engine.workdays import WorkCalendar
from helpers import case_file

EXPECTED_2027 = ["2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10",
                 "2027-04-05", "2027-05-01", "2027-05-02", "2027-05-03", "2027-05-04", "2027-06-09", "2027-09-15",
                 "2027-10-01", "2027-10-02", "2027-10-03", "2027-10-04", "2027-10-05"]


def test_2027_by_the_law_has_exactly_its_statutory_days_and_their_make_up_days():
    assert sorted(d.isoformat() for d in days_off(2027)) == EXPECTED_2027
    cal = WorkCalendar()
    off = [d for d in (date(2027, 1, 1) + timedelta(days=k) for k in range(365)) if not cal.is_workday(d) and d.weekday() < 5]
    assert sorted(d.isoformat() for d in off) == [d for d in EXPECTED_2027 if date.fromisoformat(d).weekday() < 5]


def test_a_year_chinesecalendar_knows_keeps_its_exact_data():
    cal = WorkCalendar()
    # 2026's notice swapped 02-20, 02-23, 10-06 and 10-07 off, and 02-14, 02-28 to working Saturdays
    for day in ("2026-02-20", "2026-02-23", "2026-10-06", "2026-10-07"):
        assert not cal.is_workday(date.fromisoformat(day))
    for day in ("2026-02-14", "2026-02-28"):
        assert cal.is_workday(date.fromisoformat(day))


def test_a_2027_publicity_ends_by_the_law_and_approval_follows(county, calendar_file):
    """Five working days counting the posting day, posted Monday 2027-09-27: 27, 28, 29, 30 September,
    then 1–5 October off (国庆 3 days, two made up for the weekend), so it ends 2027-10-06."""
    county("calendar", "load", calendar_file, "--year", "2027", "--as-of", "2026-12-01")
    county("cases", "import", case_file(county, "c.csv", "S002", 1, year=2027), "--programme", "senior-grant",
           "--term", "2027-autumn", "--as-of", "2027-09-20")
    county("cases", "advance", "--unit", "S002", "--programme", "senior-grant", "--term", "2027-autumn",
           "--from", "eligibility", "--to", "publicity", "--as-of", "2027-09-27")
    case = json.loads(county("cases", "list", "--term", "2027-autumn", "--format", "json").stdout)[0]["case"]
    held = county("cases", "advance", str(case), "--to", "approval", "--as-of", "2027-10-06", ok=False)
    assert held.exit_code == 2 and "possible from 2027-10-07" in held.stderr
    assert "approval" in county("cases", "advance", str(case), "--to", "approval", "--as-of", "2027-10-07").stdout


def test_until_the_notice_is_in_the_command_warns_once_and_then_not_at_all(county, calendar_file):
    loaded = county("calendar", "load", calendar_file, "--year", "2027", "--as-of", "2026-12-01")
    assert loaded.stderr.count("holiday notice for 2027 is not in") == 1
    text = calendar_file.read_text(encoding="utf-8").replace(
        "  holidays: []\n  workdays: []\n", "  holidays: [2027-02-11]\n  workdays: [2027-02-20]\n", 1)
    calendar_file.write_text(text, encoding="utf-8")
    reloaded = county("calendar", "load", calendar_file, "--year", "2027", "--as-of", "2026-12-02")
    assert "holiday notice" not in reloaded.stderr

"""A filter whose value does not exist is an error naming the value and the
nearest or allowed ones; a value that exists with nothing to show is an empty
result, exit 0."""
from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("args, says", [
    (["overdue", "--town", "濉西镇"], "--town '濉西镇': no unit is in that town (nearest: 濉溪镇"),
    (["overdue", "--unit", "S0001"], "--unit 'S0001' is not in the roster (nearest: S001"),
    (["overdue", "--type", "college"], "--type 'college' is not a unit type (allowed: kindergarten (幼儿园)"),
    (["overdue", "--type", "特教"], "--type '特教': no unit of that type is in the roster"),
    (["overdue", "--authority", "340622"], "--authority '340622': no plan or unit of that authority is loaded (nearest: 340621"),
    (["overdue", "--plan", "340600"], "--plan '340600': no plan of that authority is loaded (nearest: 340621"),
    (["overdue", "--year", "2022"], "--year 2022: no plan of that year is loaded (loaded: 2021)"),
    (["tasks", "list", "--unit", "S001", "--month", "13"], "--month '13' is not a month (YYYY-MM"),
    (["tasks", "list", "--unit", "S001", "--month", "2021-5"], "--month '2021-5' is not a month"),
    (["tasks", "list", "--unit", "X9"], "--unit 'X9' is not in the roster"),
    (["cases", "list", "--programme", "senior-grnat"], "--programme 'senior-grnat' is not a programme (nearest: senior-grant"),
    (["cases", "list", "--term", "2021-fall"], "--term '2021-fall' is not a term"),
    (["cases", "list", "--state", "aproval"], "--state 'aproval' is not a state of any workflow (nearest: approval"),
    (["cases", "list", "--held-by", "paid"], "--held-by 'paid' is not a guard (allowed: identified, publicity_ended"),
    (["notices", "list", "--authority", "999999"], "--authority '999999': no plan or unit of that authority is loaded"),
])
def test_a_filter_value_that_does_not_exist_is_named_with_exit_2(county, args, says):
    result = county(*args, ok=False)
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1  # one line


def test_a_value_that_exists_with_nothing_to_show_is_an_empty_result(county):
    assert json.loads(county("overdue", "--as-of", "2021-01-02", "--town", "濉溪镇", "--format", "json").stdout) == []
    assert json.loads(county("cases", "list", "--state", "approval", "--format", "json").stdout) == []
    rows = json.loads(county("tasks", "list", "--unit", "S001", "--month", "5", "--as-of", "2021-05-01", "--format", "json").stdout)
    assert rows and {r["period"] for r in rows} == {"2021-05"}

"""programmes.yaml and workflows/*.yaml live in the database, like the plan:
loaded with who and when, versioned, and read from there by every command."""
from __future__ import annotations

import json
import re

from helpers import ROOT, bulk, case_file

RAISED = (ROOT / "programmes.yaml").read_text(encoding="utf-8").replace(
    "      - {from: 2025-spring, amounts: {special: 3300, hard: 2300, general: 1300}}\n",
    "      - {from: 2025-spring, amounts: {special: 3300, hard: 2300, general: 1300}}\n"
    "      - {from: 2021-autumn, amounts: {special: 2600, hard: 2100, general: 1600}}\n", 1)


def senior_hard(aidcal, term):
    rows = json.loads(aidcal("programmes", "list", "--term", term, "--format", "json").stdout)
    return next(r["amount"] for r in rows if r["programme"] == "senior-grant" and r["level"] == "困难")


def test_a_new_database_serves_the_shipped_rules_and_says_which_version(county):
    listed = county("programmes", "list")
    assert "普通高中国家助学金" in listed.stdout
    assert re.search(r"programmes: version 1 \(programmes.yaml\), loaded \d{4}-\d{2}-\d{2} \d{2}:\d{2} by ", listed.stderr)
    shown = county("workflow", "show", "scholarship")
    assert "stateDiagram-v2" in shown.stdout and "scholarship: version 1 (workflows/scholarship.yaml)" in shown.stderr
    assert county.scalar("SELECT count(*) FROM rule_file") == 6  # five workflows and the programmes


def test_an_edited_programmes_file_changes_what_is_listed_and_says_what_changed(county):
    assert senior_hard(county, "2021-autumn") == 2000
    edited = county.file("programmes.yaml", RAISED)
    loaded = county("programmes", "load", edited, "--as-of", "2021-08-01")
    assert "programmes: version 2 loaded" in loaded.stdout
    assert "programme senior-grant: rate from 2021-autumn special 2600, hard 2100, general 1600 added" in loaded.stdout
    assert senior_hard(county, "2021-autumn") == 2100 and senior_hard(county, "2021-spring") == 2000
    again = county("programmes", "load", edited, "--as-of", "2021-08-02")
    assert "unchanged (version 2 is in force)" in again.stdout
    assert county.scalar("SELECT loaded_by FROM rule_file WHERE kind = 'programmes' AND version = 2") == "tester"


def test_a_changed_standard_reaches_cases_not_yet_approved_and_never_an_approved_amount(county):
    county("cases", "import", case_file(county, "a.csv", "S002", 2), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-01")
    assert bulk(county, "eligibility", "publicity", "2021-09-01")["moved"] == 2
    assert bulk(county, "publicity", "approval", "2021-09-15")["moved"] == 2
    county("cases", "import", case_file(county, "b.csv", "S002", 3, start=10), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-16")
    loaded = county("programmes", "load", county.file("programmes.yaml", RAISED), "--as-of", "2021-09-17")
    assert "senior-grant 2021-autumn: 3 cases not yet posted take the new standard; 2 posted, approved or paid keep theirs" \
        in loaded.stdout
    amounts = sorted((c["state"], c["amount"]) for c in json.loads(county("cases", "list", "--format", "json").stdout))
    assert amounts == [("approval", 1000.0)] * 2 + [("eligibility", 1050.0)] * 3


def test_a_workflow_reload_that_would_strand_cases_is_refused_with_their_count(county):
    county("cases", "import", case_file(county, "a.csv", "S002", 2), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-01")
    bulk(county, "eligibility", "publicity", "2021-09-01")
    text = (ROOT / "workflows" / "student_aid.yaml").read_text(encoding="utf-8")
    renamed = re.sub(r"(?<![_\w])publicity(?![_:\w])", "posting", text)  # the state, not the key or the guards
    assert "{name: posting, title: 公示}" in renamed and "publicity_ended" in renamed
    trimmed = county.file("student_aid.yaml", renamed)
    before = county.dump()
    result = county("workflow", "load", trimmed, ok=False)
    assert result.exit_code == 2
    assert "2 cases of workflow student_aid are in states this file removes (publicity" in result.stderr
    assert county.dump() == before


def test_a_workflow_reload_says_what_changed(county):
    text = (ROOT / "workflows" / "scholarship.yaml").read_text(encoding="utf-8")
    assert "working_days: 5" in text
    loaded = county("workflow", "load", county.file("scholarship.yaml", text.replace("working_days: 5", "working_days: 7")))
    assert "workflow scholarship: version 2 loaded" in loaded.stdout and "publicity 5 → 7 working days" in loaded.stdout


def test_rule_files_with_errors_are_refused_by_file_and_line_and_nothing_is_stored(county):
    before = county.dump()
    bad = county.file("programmes.yaml", "programmes:\n  - key: x\n    unit_types: [senior]\n    workflow: nowhere\n"
                                         "    rates:\n      - {from: 2021-autum, amounts: {any: 1}}\n")
    result = county("programmes", "load", bad, ok=False)
    assert result.exit_code == 2 and "programmes.yaml:6: programme x: rate from '2021-autum'" in result.stderr
    unknown = county.file("p2.yaml", "programmes:\n  - key: x\n    unit_types: [senior]\n    workflow: nowhere\n"
                                     "    rates:\n      - {from: 2021-autumn, amounts: {any: 1}}\n")
    result = county("programmes", "load", unknown, ok=False)
    assert result.exit_code == 2 and "name workflows that are not loaded (nowhere)" in result.stderr
    assert county.dump() == before


def test_a_programmes_file_that_would_strand_cases_is_refused_with_their_count(county):
    county("cases", "import", case_file(county, "a.csv", "S002", 2), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-01")
    text = (ROOT / "programmes.yaml").read_text(encoding="utf-8")
    start = text.index("  - key: senior-grant")
    removed = text[:start] + text[text.index("  - key: vocational-grant"):]
    before = county.dump()
    result = county("programmes", "load", county.file("programmes.yaml", removed), ok=False)
    assert result.exit_code == 2 and "senior-grant (2 cases)" in result.stderr
    moved = text.replace("    unit_types: [senior]\n", "    unit_types: [senior]\n    workflow: fee_waiver\n", 1)
    result = county("programmes", "load", county.file("programmes.yaml", moved), ok=False)
    assert result.exit_code == 2 and "senior-grant (2 cases)" in result.stderr
    assert county.dump() == before

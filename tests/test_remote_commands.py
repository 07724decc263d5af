"""The commands schools, supervisors and auditors run from their own machines: each one through a
real `aidcal serve`, printing what it prints on the bureau's database, and each refused outside its
user's reach (a school another school's work, a supervisor another county's, an auditor any write),
every refusal in the audit log. One server per backend for the whole module: the tests touch
different units, tasks and notices, so their order does not matter."""
import json
import sqlite3
import uuid
from dataclasses import dataclass

import pytest

from helpers import BACKENDS, SMALL_ROSTER, Aidcal, Server, bulk, case_file, refused, remote, write_adopted_from_new_year

USERS = [("sup", "supervisor", "340621"), ("s1", "unit", "S001"), ("s2", "unit", "S002"), ("aud", "auditor", "340621"),
         ("elsewhere", "supervisor", "340622")]


@dataclass
class Bureau:
    county: Aidcal
    server: Server
    tokens: dict

    def remote(self, user, *args, ok=True):
        return remote(self.server, self.tokens[user], *args, ok=ok)

    def refused(self, user, *args, says=()):
        """Refused with exit 3 and one line, nothing written, and the refusal the audit log's latest entry."""
        before = self.county.dump()
        refused(self.remote(user, *args, ok=False), *says)
        after = self.county.dump()
        assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
        latest = json.loads(self.county("audit", "show", "--limit", "1", "--format", "json").stdout)[0]
        assert (latest["actor"], latest["outcome"]) == (user, "refused")


@pytest.fixture(scope="module", params=BACKENDS)
def bureau(request, tmp_path_factory):
    """A county with its 2021 plan, roster, a drafted notice and S002's cases in publicity;
    a user of each role; its server running."""
    workdir = tmp_path_factory.mktemp(f"bureau-{request.param}")
    if request.param == "sqlite":
        sqlite3.connect(workdir / "state.db").close()
        url = f"sqlite:///{workdir / 'state.db'}"
    else:
        name = f"aidcal_{uuid.uuid4().hex[:12]}"
        url = request.getfixturevalue("pg_server").create_database(name)
    county = Aidcal(url, workdir)
    county("calendar", "load", write_adopted_from_new_year(workdir / "calendar.yaml"), "--as-of", "2021-01-01")
    county("units", "import", county.file("units.csv", SMALL_ROSTER), "--as-of", "2021-01-01")
    county("escalate", "--as-of", "2021-01-26")
    county("cases", "import", case_file(county, "c.csv", "S002", 4), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    bulk(county, "eligibility", "publicity", "2021-09-27")
    tokens = {name: county("users", "add", name, "--role", role, "--scope", scope).stdout.strip()
              for name, role, scope in USERS}
    server = Server(url, workdir)
    yield Bureau(county, server, tokens)
    server.stop()
    if request.param != "sqlite":
        county.engine().dispose()
        request.getfixturevalue("pg_server").drop_database(name)


# ── tasks evidence, tasks import ──────────────────────────────────────────────
def test_evidence_comes_back_to_its_school_as_it_went_and_to_no_other(bureau, tmp_path):
    proof = tmp_path / "月报.pdf"
    proof.write_bytes(b"%PDF-1.4 \x00\xff evidence")
    bureau.remote("s1", "tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-03", "--as-of", "2021-03-26",
                  "--evidence", proof)
    target = ["tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-03", "--output"]
    here = bureau.remote("s1", *target, tmp_path / "remote")
    there = bureau.county(*target, tmp_path / "local")
    assert (tmp_path / "remote" / "月报.pdf").read_bytes() == proof.read_bytes() == (tmp_path / "local" / "月报.pdf").read_bytes()
    assert here.stdout == there.stdout and here.stderr.replace("remote", "local") == there.stderr
    assert bureau.remote("aud", *target, tmp_path / "auditor").exit_code == 0  # an auditor reads its subtree
    bureau.refused("s2", *target, tmp_path / "s2", says=["S001"])
    bureau.refused("elsewhere", *target, tmp_path / "elsewhere", says=["S001"])
    assert not (tmp_path / "s2").exists() and not (tmp_path / "elsewhere").exists()


def test_a_school_imports_its_own_completions_with_their_evidence_and_no_one_elses(bureau, tmp_path):
    (tmp_path / "proofs").mkdir()
    (tmp_path / "proofs" / "四月.pdf").write_bytes(b"april's report")
    sheet = tmp_path / "完成情况.csv"
    sheet.write_text("unit,task,period,done_at,note,evidence\n"
                     "S001,monthly-report,2021-04,2021-04-26,,proofs/四月.pdf\n"
                     "K001,system-update,2021-04,2021-04-10,村园,\n", encoding="utf-8")
    first = bureau.remote("s1", "tasks", "import", sheet, "--as-of", "2021-05-01")  # K001's parent is S001
    assert first.stdout == "completions: 2 recorded (0 late), 0 already done\n"
    again = ["tasks", "import", sheet, "--as-of", "2021-05-01"]
    assert bureau.remote("s1", *again).stdout == bureau.county(*again).stdout == \
        "completions: 0 recorded (0 late), 2 already done\n"
    bureau.county("tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-04", "--output", tmp_path / "out")
    assert (tmp_path / "out" / "四月.pdf").read_bytes() == b"april's report"
    entry = json.loads(bureau.county("audit", "show", "--actor", "s1", "--action", "tasks.import", "--format", "json").stdout)[0]
    assert entry["object"] == "完成情况.csv" and "files=proofs/四月.pdf" in entry["summary"]

    theirs = tmp_path / "theirs.csv"
    theirs.write_text("unit,task,period,done_at,note\nS001,system-update,2021-05,2021-05-10,\n"
                      "S002,system-update,2021-05,2021-05-10,\n", encoding="utf-8")
    bureau.refused("s1", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["S002"])
    bureau.refused("elsewhere", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["S001"])
    bureau.refused("aud", "tasks", "import", theirs, "--as-of", "2021-06-01", says=["auditor"])


def test_a_sheet_naming_evidence_that_cannot_be_sent_says_so_by_row_locally_and_remotely(bureau, tmp_path):
    sheet = tmp_path / "c.csv"
    sheet.write_text("unit,task,period,done_at,note,evidence\nS001,monthly-report,2021-06,2021-06-25,,missing.pdf\n"
                     "S001,monthly-report,2021-07,2021-07-26,,../outside.pdf\n", encoding="utf-8")
    args = ["tasks", "import", sheet, "--as-of", "2021-08-01"]
    here, there = bureau.remote("s1", *args, ok=False), bureau.county(*args, ok=False)
    assert here.exit_code == there.exit_code == 2 and here.stderr == there.stderr
    assert here.stderr.splitlines() == ["error: c.csv: row 2: evidence file 'missing.pdf' not found next to the sheet",
                                        "error: c.csv: row 3: evidence '../outside.pdf' must be a file next to the sheet "
                                        "(no absolute path, no '..')"]

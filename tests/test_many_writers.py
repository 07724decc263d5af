"""Schools writing, cases imported and moved in bulk, while an escalation runs,
as separate processes, each write audited: every write is there exactly once, no writer
sees an error, and the audit chain they made together is one line that verifies.
Bounded: 4 task writers, 2 case movers, 1 importer, 1 escalation, two minutes at most."""
import json
import subprocess
import sys

from sqlalchemy import text

from aidcal.engine import store
from helpers import ROOT, all_finished, case_file


def test_concurrent_completions_cases_and_escalation_lose_and_double_nothing(county, tmp_path):
    county("cases", "import", case_file(county, "autumn.csv", "S002", 60), "--programme", "senior-grant",
           "--term", "2021-autumn", "--as-of", "2021-09-20")
    spring = case_file(county, "spring.csv", "S002", 40)
    with store.reading(county.engine()) as conn:
        targets = [list(r) for r in conn.execute(text(
            "SELECT u.code, t.key, o.period, t.evidence IS NOT NULL FROM task_instance i JOIN unit u ON u.id = i.unit_id "
            "JOIN occurrence o ON o.id = i.occurrence_id JOIN task t ON t.id = o.task_id "
            "WHERE i.due <= '2021-06-30' AND u.code <> '340621' ORDER BY 1, 2, 3"))]
    # Writers 0 and 1 share every other target with writers 2 and 3: the same task raced for twice.
    shares = [targets[k::2] for k in range(2)]
    files = []
    for k, share in enumerate(shares * 2):
        path = tmp_path / f"targets{k}.json"
        path.write_text(json.dumps(share if k < 2 else list(reversed(share))))
        files.append(path)
    helper = str(ROOT / "tests" / "writer_process.py")
    procs = [subprocess.Popen([sys.executable, helper, county.url, "done", str(f), f"writer{k}"],
                              stderr=subprocess.PIPE) for k, f in enumerate(files)]
    procs.append(subprocess.Popen([sys.executable, helper, county.url, "escalate", "2021-01-21", "2021-06-30"],
                                  stderr=subprocess.PIPE))
    procs += [subprocess.Popen([sys.executable, helper, county.url, "advance", "senior-grant", "2021-autumn",
                                "eligibility", "publicity", "2021-09-27", f"mover{k}"], stderr=subprocess.PIPE)
              for k in range(2)]
    procs.append(subprocess.Popen([sys.executable, helper, county.url, "import-cases", str(spring), "senior-grant",
                                   "2021-spring"], stderr=subprocess.PIPE))
    for proc, (code, err) in zip(procs, all_finished(procs, timeout=120)):
        assert code == 0, f"{proc.args[2:]}: {err[-2000:]}"
        assert "locked" not in err, f"{proc.args[2:]}: {err[-2000:]}"
    assert county.scalar("SELECT count(*) FROM task_instance i JOIN unit u ON u.id = i.unit_id "
                         "WHERE i.due <= '2021-06-30' AND u.code <> '340621' AND i.done_on IS NULL") == 0
    assert county.scalar("SELECT count(*) FROM event WHERE kind = 'done'") == len(targets)
    assert county.scalar("SELECT count(*) FROM (SELECT instance_id FROM event WHERE kind = 'done' "
                         "GROUP BY instance_id HAVING count(*) > 1) d") == 0
    assert county.scalar("SELECT count(*) FROM (SELECT instance_id, rung FROM ladder_step "
                         "GROUP BY instance_id, rung HAVING count(*) > 1) d") == 0
    assert county.scalar("SELECT count(DISTINCT run_id) FROM ladder_step") >= 1
    # every autumn case published exactly once, whichever mover got it; the spring import whole
    assert county.scalar("SELECT count(*) FROM aid_case WHERE term = '2021-autumn' AND state = 'publicity'") == 60
    assert county.scalar("SELECT count(*) FROM case_event WHERE trigger = 'publish'") == 60
    assert county.scalar("SELECT count(*) FROM aid_case WHERE term = '2021-spring'") == 40
    # one entry per write, all of them one chain, every row vouched for as it was written
    assert county.scalar("SELECT count(*) FROM audit WHERE action = 'tasks.done'") == 2 * len(targets)
    assert county("audit", "verify", "--data", "--latest", "100000").exit_code == 0

"""Speed of the case workflow on a province-sized load (SQLite):
importing 1,000,000 cases, then moving them through every state in bulk.

Each bulk step is printed beside its floor: the same change (history rows and
the state update, with the same predicate) done by hand-written SQL in a plain
sqlite3 process on a copy of the database in the same state. Facts the guards
need (cards, callbacks, documents) are set by plain SQL between steps and not
timed: they are other commands' work.

    make bench-cases      # or: .venv/bin/python bench/cases.py [--cases N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out-cases"
AIDCAL = str(Path(sys.executable).parent / "aidcal")
WEIGHTS, CHECK = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
UNITS = 2_000
TERM = "2021-autumn"


def make_id(n: int) -> str:
    birth = date(2003, 1, 1) + timedelta(days=n // 1000)
    body = f"340621{birth:%Y%m%d}{n % 1000:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def generate(n: int) -> None:
    with open(OUT / "units.csv", "w", encoding="utf-8") as f:
        f.write("code,name,type,town,parent,contact,phone\n")
        for k in range(UNITS):
            f.write(f"H{k:05d},第{k}高级中学,高中,{k // 50:02d}镇,,王老师,139{k:08d}\n")
    levels = ("特别困难", "困难", "一般困难")
    with open(OUT / "cases.csv", "w", encoding="utf-8") as f:
        f.write("name,id_number,phone,unit,grade,class,level,bank_card,boarding\n")
        for k in range(n):
            f.write(f"学生{k},{make_id(k)},13{k % 10}{k:08d},H{k % UNITS:05d},高二,{k % 8 + 1}班,{levels[k % 3]},"
                    f"6222{k:015d},是\n")


def timed(args: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=OUT)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(args)} failed: {proc.stderr.read().decode()}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


FLOOR = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
source, dest, trigger, guard, extra = sys.argv[2:7]
where = f"programme = 'senior-grant' AND term = '2021-autumn' AND state = '{source}' AND {guard}"
db.execute("BEGIN IMMEDIATE")
db.execute(f"INSERT INTO case_event (case_id, trigger, from_state, to_state, on_date, at, by, reason) "
           f"SELECT id, '{trigger}', state, '{dest}', '2021-10-20', '2021-10-20 00:00:00', 'floor', '' FROM aid_case WHERE {where}")
db.execute(f"UPDATE aid_case SET state = '{dest}', state_since = '2021-10-20'{extra} WHERE {where}")
db.execute("COMMIT")
"""

STEPS = [  # source, dest, as-of, trigger, the guard as plain SQL, extra SET, facts set (untimed) before the step
    ("eligibility", "publicity", "2021-09-27", "publish", "1",
     ", publicity_from = '2021-09-27', publicity_until = '2021-10-08', approvable_from = '2021-10-09'", None),
    ("publicity", "approval", "2021-10-09", "approve",
     "approvable_from <= '2021-10-09' AND NOT objection_open AND (amount = standard OR override_reason IS NOT NULL)", "", None),
    ("approval", "payout", "2021-10-20", "pay",
     "((card_type IS NOT NULL AND bank_card != '') OR cash_approval IS NOT NULL)", "",
     "UPDATE aid_case SET card_type = 'bank'"),
    ("payout", "callback", "2021-11-10", "call_back", "callback_outcome IS NOT NULL AND phone != ''", "",
     "UPDATE aid_case SET callback_outcome = '已回访', callback_on = '2021-11-09'"),
    ("callback", "archive", "2021-12-01", "archive",
     "(SELECT count(DISTINCT name) FROM case_document d WHERE d.case_id = aid_case.id AND d.name IN "
     "('申请表','认定表','公示记录','签字发放花名册','回访记录')) = 5", "",
     "INSERT INTO case_document (case_id, name, recorded_on, by) SELECT id, n.name, '2021-11-30', 'bench' FROM aid_case, "
     "(SELECT '申请表' AS name UNION ALL SELECT '认定表' UNION ALL SELECT '公示记录' UNION ALL SELECT '签字发放花名册' "
     "UNION ALL SELECT '回访记录') n"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    generate(args.cases)
    db_file = OUT / "state.db"
    db = ["--db", f"sqlite:///{db_file}"]
    timed([AIDCAL, *db, "units", "import", "units.csv", "--as-of", "2021-01-01"])
    results = [("cases import", *timed([AIDCAL, *db, "cases", "import", "cases.csv", "--programme", "senior-grant",
                                        "--term", TERM, "--as-of", "2021-09-20"]), 60, None)]
    for source, dest, as_of, trigger, guard, extra, facts in STEPS:
        if facts:
            con = sqlite3.connect(db_file)
            con.execute(facts)
            con.commit()
            con.close()
        subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                        "c.execute('PRAGMA wal_checkpoint(TRUNCATE)')", str(db_file)], check=True)
        floor_db = OUT / "floor.db"
        shutil.copy(db_file, floor_db)
        floor, _ = timed([sys.executable, "-c", FLOOR, str(floor_db), source, dest, trigger, guard, extra])
        os.remove(floor_db)
        seconds, mb = timed([AIDCAL, *db, "cases", "advance", "--programme", "senior-grant", "--term", TERM,
                             "--from", source, "--to", dest, "--as-of", as_of, "--format", "json"])
        results.append((f"bulk {source} → {dest}", seconds, mb, None, floor))
    con = sqlite3.connect(db_file)
    counts = dict(con.execute("SELECT state, count(*) FROM aid_case GROUP BY state").fetchall())
    events = con.execute("SELECT count(*) FROM case_event").fetchone()[0]
    print(f"cases: {args.cases} senior-grant cases in {UNITS} schools; end states {counts}; {events} history rows")
    print(f"{'step':<34} {'seconds':>8} {'peak MB':>8} {'floor s':>8} {'ratio':>6}  target")
    for label, seconds, mb, target, floor in results:
        ratio = f"{seconds / floor:5.2f}" if floor else ""
        goal = f"≤ {target} s" if target else "≤ 1.5× floor"
        print(f"{label:<34} {seconds:8.2f} {mb:8.0f} {floor or '':>8.5} {ratio:>6}  {goal}")


if __name__ == "__main__":
    main()

"""Speed figures for the core loop on a generated province (30,000 units).

Runs whole `aidcal` commands as a user would (fresh process each, SQLite) and
prints wall seconds and peak memory per command, beside the issue's targets.
For the overdue list it also prints the floor: the same rows from hand-written
SQL in a plain Python process with only sqlite3 imported.

    make bench            # or: .venv/bin/python bench/run.py [--units N] [--completions N]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
AIDCAL = str(Path(sys.executable).parent / "aidcal")
TYPES = ["小学"] * 50 + ["初中"] * 15 + ["幼儿园"] * 25 + ["高中"] * 4 + ["中职"] * 3 + ["初中|高中", "小学|初中", "特教"]
AS_OF = "2021-03-15"


def make_roster(path: Path, n: int, rng: random.Random) -> list[str]:
    codes = [f"3{i:09d}" for i in range(1, n + 1)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "type", "town", "parent", "contact", "phone", "active_from"])
        for k, code in enumerate(codes):
            w.writerow([code, f"第{k + 1}学校", rng.choice(TYPES), f"{k // 900:02d}县{(k // 30) % 30:02d}镇", "",
                        "王老师", f"139{rng.randrange(10**8):08d}", ""])
    return codes


def make_completions(path: Path, codes: list[str], n: int, rng: random.Random) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit", "task", "period", "done_at", "note"])
        for k in range(n):
            period, due = ("2021-01", date(2021, 1, 20)) if k < len(codes) else ("2021-02", date(2021, 2, 20))
            w.writerow([codes[k % len(codes)], "system-update", period,
                        (due + timedelta(days=rng.randint(-5, 3))).isoformat(), ""])


def timed(args: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command in its own process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=stdout, stderr=subprocess.PIPE, cwd=OUT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(args)} failed: {proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


FLOOR = """
import sqlite3, json, sys, time
t = time.perf_counter()
db = sqlite3.connect(sys.argv[1])
rows = db.execute('''
  SELECT u.code, u.name, u.town, u.type, t.key, t.title, o.period, i.due
  FROM task_instance i JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON o.id = i.occurrence_id
  JOIN task t ON t.id = o.task_id
  WHERE i.due < ? AND (i.done_on IS NULL OR i.done_on > ?) AND i.cancelled_on IS NULL AND i.waived_on IS NULL
  ORDER BY i.due, u.code, t.key, o.period''', (sys.argv[2], sys.argv[2])).fetchall()
with open(sys.argv[3], 'w') as f:
    json.dump([dict(unit=r[0], unit_name=r[1], town=r[2], type=r[3], task=r[4], title=r[5], period=r[6], due=r[7])
               for r in rows], f, ensure_ascii=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=30_000)
    parser.add_argument("--completions", type=int, default=50_000)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    rng = random.Random(7)
    codes = make_roster(OUT / "units.csv", args.units, rng)
    make_completions(OUT / "completions.csv", codes, args.completions, rng)
    db = ["--db", f"sqlite:///{OUT / 'state.db'}"]

    results = []

    def step(label, argv, target=None, repeat=1):
        """Writes run once (they change the database); reads report the best of `repeat`."""
        runs = [timed(argv) for _ in range(repeat)]
        results.append((label, min(s for s, _ in runs), max(m for _, m in runs), target))

    step("aidcal --help", [AIDCAL, "--help"], 0.3, repeat=3)
    step("calendar load (2021, empty roster)", [AIDCAL, *db, "calendar", "load", str(ROOT / "calendar.yaml"), "--as-of", "2021-01-01"])
    step(f"units import + expansion ({args.units} units)", [AIDCAL, *db, "units", "import", "units.csv", "--as-of", "2021-01-01"], 10)
    step(f"tasks import ({args.completions} completions)", [AIDCAL, *db, "tasks", "import", "completions.csv", "--as-of", AS_OF], 10)
    step("tasks list (one unit, a year)", [AIDCAL, *db, "tasks", "list", "--unit", codes[0], "--as-of", AS_OF], 0.8, repeat=3)
    step(f"overdue table as of {AS_OF}", [AIDCAL, *db, "overdue", "--as-of", AS_OF], 2.5, repeat=3)
    step("overdue --format json --output", [AIDCAL, *db, "overdue", "--as-of", AS_OF, "--format", "json", "--output", "o.json"], 2.5, repeat=3)
    step("overdue --format csv --output", [AIDCAL, *db, "overdue", "--as-of", AS_OF, "--format", "csv", "--output", "o.csv"], 2.5, repeat=3)
    step("floor: hand-written SQL → JSON (sqlite3 only)", [sys.executable, "-c", FLOOR, str(OUT / "state.db"), AS_OF, "floor.json"], repeat=3)
    step(f"escalate --dry-run as of {AS_OF}", [AIDCAL, *db, "escalate", "--as-of", AS_OF, "--dry-run", "--format", "json"], repeat=3)
    step(f"escalate as of {AS_OF} (nightly run)", [AIDCAL, *db, "escalate", "--as-of", AS_OF], 5)
    step("escalate again, same day (takes nothing)", [AIDCAL, *db, "escalate", "--as-of", AS_OF], 5)
    step("overdue --format xlsx --output", [AIDCAL, *db, "overdue", "--as-of", AS_OF, "--format", "xlsx", "--output", "o.xlsx"])

    import sqlite3
    con = sqlite3.connect(OUT / "state.db")
    instances = con.execute("SELECT count(*) FROM task_instance").fetchone()[0]
    overdue_rows = sum(1 for _ in open(OUT / "o.csv", encoding="utf-8-sig")) - 1
    steps = con.execute("SELECT count(*) FROM ladder_step").fetchone()[0]
    print(f"province: {args.units} units, {instances} task instances, {overdue_rows} overdue rows and "
          f"{steps} ladder steps as of {AS_OF}")
    print("seconds: writes run once; reads are the best of 3 runs. Peak MB: the largest resident set.")
    print(f"{'command':<52} {'seconds':>8} {'peak MB':>8} {'target s':>9}")
    for label, seconds, mb, target in results:
        mark = "" if target is None else ("ok" if seconds <= target else "OVER")
        print(f"{label:<52} {seconds:8.2f} {mb:8.0f} {target if target is not None else '':>9} {mark}")


if __name__ == "__main__":
    main()

"""Speed of the core loop on a generated province: 30,000 units under 20 counties
of two cities, each county with its own plan (the shipped 2021 plan), on SQLite
and PostgreSQL side by side.

Every figure is a whole `aidcal` command in a fresh process (wall seconds, peak
resident MB). Expansion, the overdue list and the nightly run stand beside their
floor (bench/floors.py: the same rows by hand-written SQL in a plain Python
process, on a copy of the database in the same state) and the ratio; the script
checks that engine and floor wrote the same number of rows.

    make bench            # or: .venv/bin/python bench/run.py [--units N] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import csv
import random
import shutil
from datetime import date, timedelta
from pathlib import Path

from backends import AIDCAL, ROOT, Figures, backends, floor, side_by_side, timed
from backends import OUT as BENCH_OUT

OUT = BENCH_OUT / "run"
TYPES = ["小学"] * 50 + ["初中"] * 15 + ["幼儿园"] * 25 + ["高中"] * 4 + ["中职"] * 3 + ["初中|高中", "小学|初中", "特教"]
COUNTIES = [f"34{city}{county}" for city in ("06", "07") for county in range(21, 31)]
AS_OF = "2021-03-15"
NOTIFY = """channels:
  - {name: unit-mail, kind: email, smtp_host: smtp.example.cn, sender: 资助中心 <zizhu@example.cn>}
  - {name: city-wecom, kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bench"}
"""


def make_plans() -> list[Path]:
    shipped = "".join(line for line in (ROOT / "calendar.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
                      if not line.lstrip().startswith("start: "))  # a province in use since New Year: January's ladder too
    plans = []
    for k, code in enumerate(COUNTIES):
        path = OUT / f"plan-{code}.yaml"
        path.write_text(shipped.replace('code: "340621"', f'code: "{code}"').replace("濉溪县教育局", f"第{k + 1}县教育局"),
                        encoding="utf-8")
        plans.append(path)
    return plans


def make_roster(path: Path, n: int, rng: random.Random) -> list[str]:
    codes = [f"3{i:09d}" for i in range(1, n + 1)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "type", "town", "parent", "contact", "phone", "active_from", "email", "authority"])
        for k, code in enumerate(codes):
            county = COUNTIES[k * len(COUNTIES) // n]
            w.writerow([code, f"第{k + 1}学校", rng.choice(TYPES), f"{county}县{(k // 30) % 30:02d}镇", "",
                        "王老师", f"139{rng.randrange(10**8):08d}", "", f"s{k}@example.cn", county])
    return codes


def make_completions(path: Path, codes: list[str], n: int, rng: random.Random) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit", "task", "period", "done_at", "note"])
        for k in range(n):
            period, due = ("2021-01", date(2021, 1, 20)) if k < len(codes) else ("2021-02", date(2021, 2, 20))
            w.writerow([codes[k % len(codes)], "system-update", period,
                        (due + timedelta(days=rng.randint(-5, 3))).isoformat(), ""])


def bench(backend, plans: list[Path], codes: list[str], args) -> tuple[dict, dict]:
    """Figures {label: (seconds, MB, floor)} and row counts of one backend."""
    figures, counts = Figures(backend.name), {}
    url = backend.url("province")
    db = [AIDCAL, "--db", url]

    def best(argv, repeat=3):
        runs = [timed(argv, OUT) for _ in range(repeat)]
        return min(s for s, _ in runs), max(m for _, m in runs)

    def same(label, table, copy):
        ours, theirs = (backend.sql(name, f"SELECT count(*) FROM {table}")[0][0] for name in ("province", copy))
        counts[label] = ours
        if ours != theirs:
            raise SystemExit(f"bench: {label}: the engine wrote {ours} rows, the floor {theirs}")

    for plan in plans:
        timed([*db, "calendar", "load", str(plan), "--as-of", "2021-01-01"], OUT)
    floor_url = backend.copy("province", "floor")
    expansion_floor, _ = floor(floor_url, "expansion", OUT / "units.csv", cwd=OUT)
    figures["units import + expansion"] = (*timed([*db, "units", "import", "units.csv", "--as-of", "2021-01-01"], OUT),
                                           expansion_floor)
    same("task instances", "task_instance", "floor")
    backend.drop("floor")
    figures[f"tasks import ({args.completions} completions)"] = (
        *timed([*db, "tasks", "import", "completions.csv", "--as-of", AS_OF], OUT), None)
    figures["tasks list (one unit, a year)"] = (*best([*db, "tasks", "list", "--unit", codes[0], "--as-of", AS_OF]), None)
    overdue_floor = min(floor(url, "overdue", AS_OF, "floor.json", cwd=OUT)[0] for _ in range(3))
    figures["overdue --format json --output"] = (
        *best([*db, "overdue", "--as-of", AS_OF, "--format", "json", "--output", "o.json"]), overdue_floor)
    figures["overdue --format csv --output"] = (
        *best([*db, "overdue", "--as-of", AS_OF, "--format", "csv", "--output", "o.csv"]), overdue_floor)
    figures["overdue table (summary + 30 rows)"] = (*best([*db, "overdue", "--as-of", AS_OF]), None)
    figures["overdue --authority (a city, rolled up)"] = (
        *best([*db, "overdue", "--as-of", AS_OF, "--authority", "340600"]), None)
    counts["overdue rows"] = sum(1 for _ in open(OUT / "o.csv", encoding="utf-8-sig")) - 1
    floor_url = backend.copy("province", "floor")
    escalate_floor, _ = floor(floor_url, "escalate", AS_OF, "unit-mail,city-wecom", cwd=OUT)
    figures[f"escalate as of {AS_OF} (nightly run)"] = (
        *timed([*db, "--notify", "notify.yaml", "escalate", "--as-of", AS_OF], OUT), escalate_floor)
    for label, table in (("ladder steps", "ladder_step"), ("notice items", "notice_item"), ("outbox rows", "outbox")):
        same(label, table, "floor")
    backend.drop("floor")
    figures["escalate again, same day (takes nothing)"] = (
        *timed([*db, "--notify", "notify.yaml", "escalate", "--as-of", AS_OF], OUT), None)
    if not args.quick:
        figures["overdue --format xlsx --output"] = (
            *timed([*db, "overdue", "--as-of", AS_OF, "--format", "xlsx", "--output", "o.xlsx"], OUT), None)
    figures["aidcal --help"] = (*best([AIDCAL, "--help"]), None)
    backend.drop("province")
    return figures, counts


TARGETS = {"units import + expansion": "≤ 10 s", "tasks list (one unit, a year)": "≤ 0.8 s",
           "overdue --format json --output": "≤ 2.5 s", "overdue --format csv --output": "≤ 2.5 s",
           "escalate as of 2021-03-15 (nightly run)": "≤ 5 s", "aidcal --help": "≤ 0.3 s"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=30_000)
    parser.add_argument("--completions", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="Leave out the XLSX export (the slowest figure).")
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    rng = random.Random(7)
    plans = make_plans()
    codes = make_roster(OUT / "units.csv", args.units, rng)
    make_completions(OUT / "completions.csv", codes, args.completions, rng)
    (OUT / "notify.yaml").write_text(NOTIFY, encoding="utf-8")
    results, counts = {}, {}
    for backend in backends(args.backends.split(",")):
        try:
            results[backend.name], counts[backend.name] = bench(backend, plans, codes, args)
        finally:
            backend.close()
    names = list(results)
    labels = list(dict.fromkeys(label for figures in results.values() for label in figures))
    for name in names:
        print(f"{name}: {args.units} units, {len(COUNTIES)} county plans; as of {AS_OF}: "
              + ", ".join(f"{v} {k}" for k, v in counts[name].items()) + " (engine = floor)")
    side_by_side("seconds (writes once; reads best of 3), peak MB, floor seconds and engine ÷ floor",
                 [(label, {n: results[n][label] for n in names if label in results[n]}, TARGETS.get(label))
                  for label in labels], names)


if __name__ == "__main__":
    main()

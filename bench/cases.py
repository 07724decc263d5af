"""Speed of the case workflow on a province-sized load, SQLite and PostgreSQL side
by side: importing 5,000,000 cases, then moving them through every state in bulk.

Each bulk step stands beside its floor (bench/floors.py `advance`: the history
rows and the state update with the same predicate, by hand-written SQL in a plain
Python process, on a copy of the database in the same state). Facts the guards
need (callbacks, documents; cards come with the import) are set by plain SQL between steps and not
timed: they are other commands' work.

    make bench-cases      # or: .venv/bin/python bench/cases.py [--cases N] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import shutil
from datetime import date, timedelta

from backends import AIDCAL, ROOT, Figures, backends, floor, side_by_side, timed
from backends import OUT as BENCH_OUT

OUT = BENCH_OUT / "cases"
WEIGHTS, CHECK = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
UNITS = 2_000
TERM = "2021-autumn"


def make_id(n: int) -> str:
    birth = date(2003, 1, 1) + timedelta(days=n // 1000)
    body = f"340621{birth:%Y%m%d}{n % 1000:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def generate(n: int) -> None:
    with open(OUT / "units.csv", "w", encoding="utf-8") as f:
        f.write("code,name,type,town,parent,contact,phone,authority\n")
        for k in range(UNITS):
            f.write(f"H{k:05d},第{k}高级中学,高中,{k // 50:02d}镇,,王老师,139{k:08d},340621\n")
    levels = ("特别困难", "困难", "一般困难")
    with open(OUT / "identification.csv", "w", encoding="utf-8") as f:  # every applicant identified (教财〔2018〕16号)
        f.write("name,id_number,unit,level,categories,pledge,reviewed_on\n")
        for k in range(n):
            f.write(f"学生{k},{make_id(k)},H{k % UNITS:05d},{levels[k % 3]},{'脱贫家庭' if k % 5 == 0 else ''},是,2021-09-10\n")
    with open(OUT / "cases.csv", "w", encoding="utf-8") as f:
        f.write("name,id_number,phone,unit,grade,class,level,bank_card,boarding\n")
        for k in range(n):
            f.write(f"学生{k},{make_id(k)},13{k % 10}{k:08d},H{k % UNITS:05d},高二,{k % 8 + 1}班,{levels[k % 3]},"
                    f"6222{k:015d},是\n")


DOCUMENTS = ("申请表", "认定表", "公示记录", "签字发放花名册", "回访记录")
STEPS = [  # source, dest, as-of, trigger, the guard as plain SQL, extra SET, facts set (untimed) before the step
    ("eligibility", "publicity", "2021-09-27", "publish",
     "(NOT needs_identification OR EXISTS (SELECT 1 FROM identification i WHERE i.id = aid_case.identification_id "
     "AND i.pledge))",
     ", publicity_from = '2021-09-27', publicity_until = '2021-10-08', approvable_from = '2021-10-09'", None),
    ("publicity", "approval", "2021-10-09", "approve",
     "approvable_from <= '2021-10-09' AND NOT objection_open AND (amount = standard OR override_reason IS NOT NULL)", "",
     None),
    ("approval", "payout", "2021-10-20", "pay",  # imported with a card: it pays to that card
     "((card_type IS NOT NULL AND bank_card != '') OR cash_approval IS NOT NULL)",
     ", paid = amount, paid_on = '2021-10-20', bank_result = NULL, bank_reason = NULL", None),
    ("payout", "callback", "2021-11-10", "call_back", "callback_outcome IS NOT NULL AND phone != ''", "",
     "UPDATE aid_case SET callback_outcome = '已回访', callback_on = '2021-11-09'"),
    ("callback", "archive", "2021-12-01", "archive",
     "(SELECT count(DISTINCT name) FROM case_document d WHERE d.case_id = aid_case.id AND d.name IN "
     f"({', '.join(repr(d) for d in DOCUMENTS)})) = 5", "",
     "INSERT INTO case_document (case_id, name, recorded_on, by) SELECT id, n.name, '2021-11-30', 'bench' FROM aid_case, "
     f"(SELECT {' UNION ALL SELECT '.join(repr(d) + ' AS name' for d in DOCUMENTS)}) n"),
]


def bench(backend, n: int) -> tuple[dict, dict]:
    figures = Figures(backend.name)
    db = [AIDCAL, "--db", backend.url("cases")]
    timed([*db, "calendar", "load", str(ROOT / "calendar.yaml"), "--as-of", "2021-01-01"], OUT)  # creates the database
    timed([*db, "units", "import", "units.csv", "--authority", "340621", "--as-of", "2021-01-01"], OUT)
    figures[f"identification import ({n:,})"] = (*timed([*db, "identification", "import", "identification.csv",
                                                         "--year", "2021", "--as-of", "2021-09-15"], OUT), None)
    figures[f"cases import ({n:,})"] = (*timed([*db, "cases", "import", "cases.csv", "--programme", "senior-grant",
                                                "--term", TERM, "--as-of", "2021-09-20"], OUT), None)
    for source, dest, as_of, trigger, guard, extra, facts in STEPS:
        if facts:
            backend.sql("cases", facts)
        floor_url = backend.copy("cases", "floor")
        floor_seconds, _ = floor(floor_url, "advance", source, dest, trigger, as_of, guard, extra, cwd=OUT)
        seconds, mb = timed([*db, "cases", "advance", "--programme", "senior-grant", "--term", TERM,
                             "--from", source, "--to", dest, "--as-of", as_of, "--format", "json"], OUT)
        moved = [backend.sql(name, f"SELECT count(*) FROM aid_case WHERE state = '{dest}'")[0][0]
                 for name in ("cases", "floor")]
        backend.drop("floor")
        if moved[0] != moved[1] or moved[0] != n:
            raise SystemExit(f"bench: {source} → {dest}: the engine moved {moved[0]}, the floor {moved[1]}, of {n}")
        figures[f"bulk {source} → {dest}"] = (seconds, mb, floor_seconds)
    counts = dict(backend.sql("cases", "SELECT state, count(*) FROM aid_case GROUP BY state"))
    counts["history rows"] = backend.sql("cases", "SELECT count(*) FROM case_event")[0][0]
    backend.drop("cases")
    return figures, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    generate(args.cases)
    results, counts = {}, {}
    for backend in backends(args.backends.split(",")):
        try:
            results[backend.name], counts[backend.name] = bench(backend, args.cases)
        finally:
            backend.close()
    names = list(results)
    for name in names:
        print(f"{name}: {args.cases:,} senior-grant cases in {UNITS} schools; end: {counts[name]}")
    labels = list(dict.fromkeys(label for figures in results.values() for label in figures))
    side_by_side("seconds, peak MB, floor seconds and engine ÷ floor (each move checked: engine and floor moved every case)",
                 [(label, {n: results[n][label] for n in names}, "≤ 2× floor" if label.startswith("bulk") else None)
                  for label in labels], names)


if __name__ == "__main__":
    main()

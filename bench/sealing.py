"""What sealing personal data costs a case import: 100,000 senior-grant cases imported
through the engine API into two copies of the same database (roster and identifications
loaded), once sealed as aidcal stores them and once with sealing left out (what the
import cost before 0011: numbers stored as given, compared as themselves). Target: sealed
at most 1.25 × unsealed (issue #15).

    .venv/bin/python bench/sealing.py [--cases N] [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import date

import cases as case_bench  # bench/cases.py: the same generated files
from backends import AIDCAL, ROOT, Figures, backends, side_by_side, timed
from backends import OUT as BENCH_OUT

from aidcal.engine import audit, identification, sealing, store
from aidcal.engine import cases as engine_cases

OUT = BENCH_OUT / "sealing"
TERM = "2021-autumn"


class Unsealed(sealing.Keys):
    """The import without its sealing: values as they are, the number its own look-up key."""

    def seal(self, value, column, row):
        return value

    def unseal(self, token, column, row):
        return token

    def person(self, id_number):
        return id_number


def imported(url: str, keys: sealing.Keys) -> float:
    engine = store.connect(url)
    start = time.perf_counter()
    n = engine_cases.import_file(engine, OUT / "cases.csv", "senior-grant", TERM, date(2021, 9, 20), "bench",
                          audit.Entry("bench", "cases.import"), keys)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds, n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    case_bench.OUT = OUT
    case_bench.generate(args.cases)
    results = {}
    for backend in backends(args.backends.split(",")):
        try:
            figures = Figures(backend.name)
            base_url = backend.url("base")  # made once: a backend's url() makes the database anew
            db = [AIDCAL, "--db", base_url]
            timed([*db, "calendar", "load", str(ROOT / "calendar.yaml"), "--as-of", "2021-01-01"], OUT)
            timed([*db, "units", "import", "units.csv", "--authority", "340621", "--as-of", "2021-01-01"], OUT)
            plain_url = backend.copy("base", "plain")  # before identifications: they too are sealed, or not
            keys = sealing.read(os.environ["AIDCAL_KEY_FILE"])
            unsealed = Unsealed(keys.current, keys.sealing, keys.hashing)
            for url, with_keys in ((base_url, keys), (plain_url, unsealed)):
                engine = store.connect(url)
                identification.import_file(engine, OUT / "identification.csv", 2021, date(2021, 9, 15), "bench",
                                           audit.Entry("bench", "identification.import"), with_keys)
                engine.dispose()
            plain, n_plain = imported(plain_url, unsealed)
            sealed, n_sealed = imported(base_url, keys)
            if n_plain != n_sealed or n_sealed != args.cases:
                raise SystemExit(f"bench: sealed import wrote {n_sealed}, unsealed {n_plain}, of {args.cases}")
            figures[f"cases import ({args.cases:,}), sealed"] = (sealed, 0, plain)
            results[backend.name] = figures
        finally:
            backend.close()
    names = list(results)
    side_by_side("seconds; the floor is the same import with sealing left out", [
        (label, {n: results[n][label] for n in names}, "≤ 1.25×") for label in dict.fromkeys(
            label for figures in results.values() for label in figures)], names)


if __name__ == "__main__":
    main()

"""Completions per second with 8 concurrent writer processes, on SQLite and on
PostgreSQL (a throwaway server from the machine's binaries), each beside its
floor: the same completions as hand-written SQL in plain driver processes.

Every writer makes its completions through the engine's API, one transaction
each (without the CLI's start-up): bare (`store.writing` and `tasks.done`), and
audited, as `aidcal tasks done` does (`service.call`: authorised, one audit entry
each), which may be at most 15% slower; as the audited figure's floors, a bare
completion with its audit entry's own insert and nothing else (entry), and the act's
frame alone (`service.call` with its audit entry left out: the authorisation and the
parameters' checks, which the audit does not add), beside which the audit's own share shows. The audited kinds run beside the
linker, as under `aidcal serve` (engine/audit.py `link`, every second, in a process of its own).
At the end, every completion must be there exactly once, and every entry linked into a chain
that verifies. Each figure is the best of `--repeat` runs (3), the four kinds
taking turns, so that a neighbour's burst on a shared machine does not decide a ratio.

    make bench-writers     # or: .venv/bin/python bench/writers.py [--backend sqlite|postgresql] [--repeat N]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WRITERS = 8
UNITS = 400


def setup(url: str) -> list[list[tuple]]:
    """A county of UNITS primary schools with the 2021 plan; targets split across writers."""
    from aidcal.engine import calendar, plan, store, units
    engine = store.connect(url, create=True)
    roster = [dict(code=f"P{k:04d}", name=f"第{k}小学", type="小学", type_mask=2, town="镇", parent="", contact="王",
                   phone="13912345678", active_from=None, email="", authority="340621", row=k) for k in range(UNITS)]
    with store.writing(engine) as conn:
        plan.load(conn, calendar.read(ROOT / "calendar.yaml"), 2021, date(2021, 1, 1), "bench")
        units.import_units(conn, roster, date(2021, 1, 1), "bench")
    targets = [(f"P{k:04d}", key, f"2021-{m:02d}") for k in range(UNITS) for key in ("system-update",)
               for m in range(1, 13)]
    engine.dispose()
    return [targets[w::WRITERS] for w in range(WRITERS)]


def engine_writer(url: str, targets: list[tuple], start, done) -> None:
    from aidcal.engine import store, tasks
    engine = store.connect(url)
    start.wait()
    for unit, key, period in targets:
        with store.writing(engine) as conn:
            tasks.done(conn, unit, key, period, date(2021, 12, 31), "bench")
    done.put(len(targets))


def audited_writer(url: str, targets: list[tuple], start, done) -> None:
    """The path a local `aidcal tasks done` takes: authorised, one audit entry per completion."""
    from aidcal.engine import access, service, store
    engine = store.connect(url)
    actor = access.operator("bench")
    start.wait()
    for unit, key, period in targets:
        service.call(engine, actor, "tasks.done", dict(unit=unit, task=key, period=period, as_of="2021-12-31"),
                     date(2026, 12, 31))
    done.put(len(targets))


def entry_writer(url: str, targets: list[tuple], start, done) -> None:
    """A bare completion with nothing but its audit entry's own insert: the least an audited write
    can cost, the figure beside which the rest of the audited path (authorisation, digest, the
    act's frame) shows."""
    from aidcal.engine import audit, store, tasks
    engine = store.connect(url)
    start.wait()
    for unit, key, period in targets:
        entry = audit.Entry("local:bench", "tasks.done", unit, f"task={key} period={period} as_of=2021-12-31")
        with store.writing(engine) as conn:
            tasks.done(conn, unit, key, period, date(2021, 12, 31), "bench")
            audit.append(conn, entry, 1)
    done.put(len(targets))


def frame_writer(url: str, targets: list[tuple], start, done) -> None:
    """`audited_writer` with the audit entry left out (a plain write transaction where `service.call`
    opens an audited one), here only: what the act's frame costs, beside which the audit's share shows."""
    from contextlib import contextmanager

    from aidcal.engine import audit, store

    @contextmanager
    def unaudited(engine, _entry, _expired=None):
        with store.writing(engine) as conn:
            yield conn

    audit.audited = unaudited
    audited_writer(url, targets, start, done)


def floor_writer(url: str, targets: list[tuple], start, done) -> None:
    """The same completion by hand: resolve the instance, compare-and-set it done, record the event."""
    resolve = ("SELECT i.id, i.unit_id FROM task_instance i JOIN unit u ON u.id = i.unit_id JOIN occurrence o "
               "ON o.id = i.occurrence_id JOIN task t ON t.id = o.task_id WHERE u.code = {p} AND t.key = {p} AND o.period = {p}")
    mark = "UPDATE task_instance SET done_on = {p}, done_at = {p}, done_by = 'floor' WHERE id = {p} AND done_on IS NULL"
    log = "INSERT INTO event (instance_id, unit_id, kind, on_date, at, by, detail) VALUES ({p}, {p}, 'done', {p}, {p}, 'floor', '')"
    if url.startswith("sqlite"):
        import sqlite3
        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        p, begin = "?", "BEGIN IMMEDIATE"
    else:
        import psycopg
        db = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        p, begin = "%s", "BEGIN"
    start.wait()
    for unit, key, period in targets:
        db.execute(begin)
        instance, unit_id = db.execute(resolve.format(p=p), (unit, key, period)).fetchone()
        db.execute(mark.format(p=p), ("2021-12-31", "2021-12-31 00:00:00", instance))
        db.execute(log.format(p=p), (instance, unit_id, "2021-12-31", "2021-12-31 00:00:00"))
        db.execute("COMMIT")
    done.put(len(targets))


def linker(url: str, stop) -> None:
    """The server's linker (server.py LINK_EVERY): the entries committed since, every second."""
    from aidcal.engine import audit, store
    engine = store.connect(url)
    while not stop.wait(1.0):
        audit.link(engine)


def measure(url: str, worker, shares, linking: bool) -> float:
    ctx = mp.get_context("spawn")
    start, done, stop = ctx.Barrier(WRITERS + 1), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=worker, args=(url, share, start, done)) for share in shares]
    for proc in procs:
        proc.start()
    linking_proc = ctx.Process(target=linker, args=(url, stop)) if linking else None
    if linking_proc:
        linking_proc.start()
    start.wait()
    began = time.perf_counter()
    total = sum(done.get(timeout=600) for _ in procs)
    seconds = time.perf_counter() - began
    stop.set()
    for proc in procs + ([linking_proc] if linking_proc else []):
        proc.join()
        if proc.exitcode != 0:
            sys.exit(f"bench: a writer failed (exit {proc.exitcode})")
    return total / seconds


def check(url: str, expected: int, entries: int | None) -> None:
    """Every completion there once; every audit entry (`entries` of them, where known) linked, the chain intact."""
    from sqlalchemy import text

    from aidcal.engine import audit, store
    engine = store.connect(url)
    audit.link(engine)  # what the linker had not reached when the writers stopped
    with store.reading(engine) as conn:
        done = conn.execute(text("SELECT count(*) FROM task_instance WHERE done_on IS NOT NULL")).scalar()
        events = conn.execute(text("SELECT count(*) FROM event WHERE kind = 'done'")).scalar()
        verdict = audit.verify(conn)
    engine.dispose()
    if done != expected or events != expected:
        sys.exit(f"bench: lost or doubled writes: {done} done, {events} events, {expected} expected")
    if verdict.broken or verdict.unlinked or (entries is not None and verdict.entries != entries):
        sys.exit(f"bench: the audit chain: {verdict.entries} linked, {verdict.unlinked} not, {entries} expected; "
                 f"{verdict.broken or 'intact'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), help="only this backend (default: both)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; the best counts (default: 3)")
    args = parser.parse_args()
    from postgres import Server, binaries
    rows = []
    out = ROOT / "bench" / "out"  # ignored by git, as every bench's files (bench/backends.py OUT)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="writers-", dir=out))
    server = Server().start() if binaries() else None
    try:
        for backend in [args.backend] if args.backend else ("sqlite", "postgresql"):
            if backend == "postgresql" and server is None:
                print("postgresql: skipped (no server binaries)")
                continue
            figures = [0.0] * 5
            for run in range(args.repeat):
                for k, (label, worker) in enumerate((("engine", engine_writer), ("audited", audited_writer),
                                                     ("floor", floor_writer), ("entry", entry_writer),
                                                     ("frame", frame_writer))):
                    name = f"w_{label}_{run}"
                    url = f"sqlite:///{folder / name}.db" if backend == "sqlite" else server.create_database(name)
                    shares = setup(url)
                    audited = label in ("audited", "entry")
                    figures[k] = max(figures[k], measure(url, worker, shares, audited))
                    n = sum(map(len, shares))
                    check(url, n, n if audited else 0)
            rows.append((backend, *figures, sum(map(len, shares))))
    finally:
        if server:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{WRITERS} writer processes, one transaction per completion, none lost or doubled; best of {args.repeat}")
    print(f"{'backend':<12} {'engine /s':>10} {'floor /s':>10} {'ratio':>6} {'audited /s':>11} {'slower':>7} "
          f"{'entry /s':>9} {'slower':>7} {'frame /s':>9} {'slower':>7} {'audit':>6} {'completions':>12}  targets")
    for backend, engine_rate, audited_rate, floor_rate, entry_rate, frame_rate, n in rows:
        target = "≥ 150/s" if backend == "sqlite" else "more than SQLite"
        print(f"{backend:<12} {engine_rate:10.0f} {floor_rate:10.0f} {floor_rate / engine_rate:6.2f} {audited_rate:11.0f} "
              f"{1 - audited_rate / engine_rate:7.0%} {entry_rate:9.0f} {1 - entry_rate / engine_rate:7.0%} "
              f"{frame_rate:9.0f} {1 - frame_rate / engine_rate:7.0%} {1 - audited_rate / frame_rate:6.0%} {n:12d}  "
              f"{target}; audited ≤ 15% slower")
    print("entry: a bare completion and its audit entry's own insert, nothing else (the audited figure's floor);")
    print("frame: `service.call` with its audit entry left out; audit: how much slower audited is than frame;")
    print("audited and entry: beside the linker, every second, as under `aidcal serve`; every entry linked, chain intact")


if __name__ == "__main__":
    main()

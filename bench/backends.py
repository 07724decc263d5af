"""What every bench script shares: the two backends (a SQLite file, a throwaway
PostgreSQL server from the machine's binaries), copies of a database in a given
state (so an engine step and its floor start from the same rows), and timing
a command in its own process with its peak memory.

The PostgreSQL server is tests/postgres.py's: fsync off, on this machine's
disk, the same two cores as everything else.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
AIDCAL = str(Path(sys.executable).parent / "aidcal")
FLOORS = str(ROOT / "bench" / "floors.py")
OUT = ROOT / "bench" / "out"  # everything the benches write (ignored by git): one folder per script, the databases


def _key_file() -> Path:
    """The key that seals the benches' personal data (engine/sealing.py); the commands they run inherit it."""
    from aidcal.engine import sealing
    path = OUT / "keys.json"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        sealing.write(path, sealing.new_keys(), new=True)
    return path


os.environ.setdefault("AIDCAL_KEY_FILE", str(_key_file()))


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one command in its own process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(map(str, args))} failed: {proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def floor(url: str, name: str, *args: str, cwd: Path) -> tuple[float, float]:
    """A floor (bench/floors.py): the same change by hand-written SQL, driver only."""
    return timed([sys.executable, FLOORS, url, name, *map(str, args)], cwd)


class SQLite:
    name = "sqlite"

    def __init__(self):
        OUT.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="sqlite-", dir=OUT))

    def url(self, db: str) -> str:
        return f"sqlite:///{self.folder / db}.db"

    def copy(self, source: str, target: str) -> str:
        """`target` as `source` is now (the WAL folded in first, so the file is whole)."""
        with closing(sqlite3.connect(self.folder / f"{source}.db")) as con:
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                sys.exit(f"bench: {source} is busy; cannot copy it whole")
        self.drop(target)
        shutil.copy(self.folder / f"{source}.db", self.folder / f"{target}.db")
        return self.url(target)

    def drop(self, db: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            (self.folder / f"{db}.db{suffix}").unlink(missing_ok=True)

    def sql(self, db: str, statement: str) -> list[tuple]:
        with closing(sqlite3.connect(self.folder / f"{db}.db")) as con, con:
            return con.execute(statement).fetchall()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgreSQL:
    name = "postgresql"

    def __init__(self):
        from postgres import Server
        self.server = Server().start()

    def url(self, db: str) -> str:
        self.server.drop_database(db)
        return self.server.create_database(db)

    def copy(self, source: str, target: str) -> str:
        self.server.drop_database(target)
        self._admin(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        return self.server.url(target)

    def drop(self, db: str) -> None:
        self.server.drop_database(db)

    def sql(self, db: str, statement: str) -> list[tuple]:
        import psycopg
        with psycopg.connect(self.server.url(db).replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def _admin(self, statement: str) -> None:
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.server.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(statement)

    def close(self) -> None:
        self.server.stop()


def backends(wanted: list[str]) -> list:
    from postgres import binaries
    # an interrupted bench still stops its server and removes its files (the callers' finally)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    found = []
    for name in wanted:
        if name == "postgresql" and binaries() is None:
            print("postgresql: skipped (no PostgreSQL server binaries on this machine)")
            continue
        found.append(SQLite() if name == "sqlite" else PostgreSQL())
    return found


class Figures(dict):
    """{label: (seconds, MB, floor seconds or None)}, each also printed (stderr) as it is
    measured: a bench of an hour that is interrupted keeps what it measured."""

    def __init__(self, backend: str):
        super().__init__()
        self.backend = backend

    def __setitem__(self, label, figure):
        seconds, mb, floor_seconds = figure
        ratio = f", floor {floor_seconds:.2f} s, × {seconds / floor_seconds:.2f}" if floor_seconds else ""
        print(f"{self.backend}: {label}: {seconds:.2f} s, {mb:.0f} MB{ratio}", file=sys.stderr, flush=True)
        super().__setitem__(label, figure)


def side_by_side(title: str, rows: list[tuple], names: list[str]) -> None:
    """rows: (label, {backend: (seconds, MB, floor seconds or None)}, target)."""
    print(title)
    head = f"{'step':<44}" + "".join(f" | {n:^31}" for n in names) + " | target"
    print(head)
    print(f"{'':<44}" + "".join(f" | {'s':>7} {'MB':>5} {'floor s':>8} {'×':>6}" for _ in names) + " |")
    for label, figures, target in rows:
        line = f"{label:<44}"
        for n in names:
            s, mb, fl = figures.get(n, (None, None, None))
            if s is None:
                line += f" | {'':>31}"
                continue
            shown, ratio = (f"{fl:8.2f}", f"{s / fl:6.2f}") if fl else ("", "")
            line += f" | {s:7.2f} {mb:5.0f} {shown:>8} {ratio:>6}"
        print(line + f" | {target or ''}")

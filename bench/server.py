"""Completions per second through the bureau's server (`aidcal serve`, SQLite): 8 concurrent
keep-alive HTTP clients, each a bounded loop of `tasks.done` requests with a supervisor's
token, beside the engine-API figure on the same kind of database (8 processes calling
`service.call`, the authorised and audited path a local `aidcal tasks done` takes); then a
remote `aidcal tasks list` as a whole process. Every completion must be there exactly once,
and every audit entry linked into a chain that verifies.

    .venv/bin/python bench/server.py
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
import writers  # noqa: E402  (the county and the targets, shared with bench/writers.py)

AIDCAL = str(Path(sys.executable).parent / "aidcal")
CLIENTS = 8


def _token(url: str) -> str:
    out = subprocess.run([AIDCAL, "--db", url, "users", "add", "bench-sup", "--role", "supervisor", "--scope", "340621"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _serve(url: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([AIDCAL, "--db", url, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("bench: aidcal serve did not start")


def _client(port: int, token: str, targets: list[tuple], barrier, failures: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    barrier.wait()
    for unit, key, period in targets:
        body = json.dumps({"params": dict(unit=unit, task=key, period=period, as_of="2021-12-31")})
        conn.request("POST", "/api/tasks.done", body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
    conn.close()


def through_server(url: str, shares) -> float:
    token = _token(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _serve(url, port)
    try:
        barrier, failures = threading.Barrier(CLIENTS + 1), []
        threads = [threading.Thread(target=_client, args=(port, token, share, barrier, failures)) for share in shares]
        for t in threads:
            t.start()
        barrier.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - began
        if failures:
            sys.exit(f"bench: {len(failures)} requests failed ({sorted(set(failures))})")
        listing = _remote_list(port, token)
    finally:
        proc.terminate()
        proc.wait(10)
    return sum(map(len, shares)) / seconds, listing


def _remote_list(port: int, token: str) -> float:
    env = {**os.environ, "AIDCAL_SERVER": f"http://127.0.0.1:{port}", "AIDCAL_TOKEN": token, "COLUMNS": "120"}
    env.pop("AIDCAL_DB", None)
    times = []
    for _ in range(7):
        began = time.perf_counter()
        subprocess.run([AIDCAL, "tasks", "list", "--unit", "P0001", "--as-of", "2021-07-15"], env=env, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="server-", dir=out))
    try:
        url = f"sqlite:///{folder / 'api.db'}"
        shares = writers.setup(url)
        api_rate = writers.measure(url, writers.audited_writer, shares, linking=True)
        writers.check(url, sum(map(len, shares)), sum(map(len, shares)))
        url = f"sqlite:///{folder / 'server.db'}"
        shares = writers.setup(url)
        server_rate, listing = through_server(url, shares)
        writers.check(url, sum(map(len, shares)), None)  # the completions' entries and the users' added
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    n = sum(map(len, shares))
    print(f"SQLite, {n} completions, one audited transaction each, none lost or doubled")
    print(f"{'path':<34} {'figure':>10}  target")
    print(f"{'engine API (8 processes)':<34} {api_rate:8.0f}/s")
    print(f"{'server (8 keep-alive clients)':<34} {server_rate:8.0f}/s  ≥ 300/s")
    print(f"{'remote tasks list, whole process':<34} {listing:9.2f}s  ≤ 0.40 s")


if __name__ == "__main__":
    main()

"""The daemon (`aidcal engine run`): APScheduler 3.x wiring, the clock and the lease.

The engine's nightly run is a plain function of (database, as_of); this shell
reads the clock, holds the scheduler lease (one daemon per database, renewed
every minute) and calls it. On start it runs the catch-up once, so nights the
machine was off are made up by one run (the ladder takes every rung due since).
"""
from __future__ import annotations

import getpass
import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aidcal.actions.deliver import send
from aidcal.engine import audit, delivery, escalation, leases, logs, store
from aidcal.engine.errors import InputError, one_line
from aidcal.i18n import _

LEASE = "scheduler"
LEASE_TTL = timedelta(seconds=60)  # a daemon killed without a word is replaced within a minute
RENEW_EVERY = timedelta(seconds=20)  # renewed from its own thread, so a long run never loses its lease
TZ = ZoneInfo("Asia/Shanghai")


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(holder: str) -> bool:
    """The holder is a process of this host that no longer runs (killed, power cut)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def acquire(engine, holder: str) -> bool:
    """Take or renew the lease; take it over at once from a dead holder on this host."""
    now = datetime.now(UTC)
    with store.writing(engine) as conn:
        if leases.acquire(conn, LEASE, holder, now, LEASE_TTL):
            return True
        current = leases.holder_of(conn, LEASE)
        return bool(current) and _gone(current[0]) and leases.take_over(conn, LEASE, current[0], holder, now, LEASE_TTL)


def refusal(engine) -> str:
    with store.reading(engine) as conn:
        current = leases.holder_of(conn, LEASE)
    if not current:
        return _("another aidcal daemon holds the scheduler lease for this database; stop it first")
    return _("another aidcal daemon holds the scheduler lease for this database ({holder}, until {until}); stop it first").format(
        holder=current[0], until=store.shown_moment(current[1]))


def nightly(engine, by: str, notify) -> None:
    """One night's work: escalate as of today in Asia/Shanghai, then deliver the
    outbox. A failed run is recorded and logged; the next night takes what it missed."""
    as_of = datetime.now(TZ).date()
    log = logs.get(__name__).bind(as_of=str(as_of))
    try:
        result = escalation.nightly(engine, as_of, by, [c.channel for c in notify.channels], notify.alerts,
                                    f"local:{getpass.getuser()} (daemon)")
        log.info("escalation done", run_id=result.run_id, **result.counts)
    except Exception as exc:  # recorded by escalation.nightly (with the alert), logged without locals, retried tomorrow
        log.error("escalation failed", error=one_line(exc))
    try:
        # the night's entries, any a stopped server left unlinked, and (SQLite) any a copy from PostgreSQL left below the head
        audit.link(engine, everywhere=True)
    except Exception as exc:  # the entries stay as written; the next linker links them
        log.error("audit linking failed", error=one_line(exc))
    report = delivery.deliver(engine, notify, datetime.now(UTC), send, time.monotonic, time.sleep)
    for error in report.errors:  # each failing message in the JSON log; `runs list` counts them per run
        log.error("delivery failed", error=error)
    log.info("delivery done", sent=report.sent, failed=report.failed, superseded=report.superseded)


def run(engine, notify, *, hour: int, minute: int) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    holder = holder_id()
    if not acquire(engine, holder):
        raise InputError(refusal(engine))
    log = logs.get(__name__).bind(holder=holder)
    scheduler = BlockingScheduler(timezone=TZ)

    def renew():
        if not acquire(engine, holder):
            log.error("scheduler lease lost; stopping")
            scheduler.shutdown(wait=False)

    stopping = []

    def stop(signum, _frame):
        if stopping:  # a second SIGTERM while the first shuts down: ignored quietly
            return
        stopping.append(signum)
        log.info("stopping", signal=signum)
        scheduler.shutdown(wait=True)

    job = dict(args=(engine, holder, notify), max_instances=1, coalesce=True, replace_existing=True)
    scheduler.add_job(nightly, CronTrigger(hour=hour, minute=minute, timezone=TZ), id="nightly",
                      misfire_grace_time=6 * 3600, **job)
    scheduler.add_job(nightly, id="catch-up", **job)  # no trigger: runs once, now
    scheduler.add_job(renew, "interval", seconds=RENEW_EVERY.total_seconds(), id="lease", replace_existing=True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("daemon started", at=f"{hour:02d}:{minute:02d}", timezone=str(TZ))
    try:
        scheduler.start()
    finally:
        with store.writing(engine) as conn:
            leases.release(conn, LEASE, holder)
        log.info("daemon stopped")

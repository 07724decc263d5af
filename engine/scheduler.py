"""The daemon: APScheduler 3.x calls the nightly job; the job is the same plain
function of (database, as_of) that `aidcal escalate` calls.

One scheduler process per database, guarded by a lease row (compare-and-set on
expiry, renewed every minute): a second daemon refuses to start rather than
double the work. On start it runs the catch-up once, so nights the machine was
off are made up by one run (the ladder takes every rung due since).
"""
from __future__ import annotations

import os
import signal
import socket
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update

from . import escalation, logs, store
from .errors import InputError, one_line
from .models import lease

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=5)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(engine, holder: str, now: datetime) -> bool:
    """Take or renew the lease if it is free, expired or already ours."""
    with store.writing(engine) as conn:
        conn.execute(store.insert(conn, lease).values(name=LEASE, holder="", expires_at=now)
                     .on_conflict_do_nothing(index_elements=["name"]))
        taken = conn.execute(update(lease).where(
            lease.c.name == LEASE, or_(lease.c.holder == holder, lease.c.holder == "", lease.c.expires_at < now)
        ).values(holder=holder, expires_at=now + LEASE_TTL)).rowcount
    return taken == 1


def release(engine, holder: str) -> None:
    with store.writing(engine) as conn:
        conn.execute(update(lease).where(lease.c.name == LEASE, lease.c.holder == holder).values(holder=""))


def nightly(engine, tz: str, by: str, notify, deliver) -> None:
    """One night's work: escalate as of today, then deliver the outbox. A failed
    run rolls back and leaves an error row; the next night takes what it missed."""
    as_of = datetime.now(ZoneInfo(tz)).date()
    log = logs.get(__name__).bind(as_of=str(as_of))
    try:
        with store.writing(engine) as conn:
            result = escalation.escalate(conn, as_of, by, [c.channel for c in notify.channels])
        log.info("escalation done", run_id=result.run_id, **result.counts)
    except Exception as exc:  # recorded, logged without locals, and retried tomorrow
        with store.writing(engine) as conn:
            escalation.record_failure(conn, as_of, by, one_line(exc))
        log.error("escalation failed", error=one_line(exc))
        return
    report = deliver(engine, notify)
    log.info("delivery done", sent=report.sent, failed=report.failed, superseded=report.superseded)


def run_daemon(engine, notify, deliver, *, hour: int, minute: int, tz: str = "Asia/Shanghai") -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    holder = holder_id()
    if not acquire(engine, holder, datetime.now(timezone.utc)):
        raise InputError("another aidcal daemon holds the scheduler lease for this database; stop it first")
    log = logs.get(__name__).bind(holder=holder)
    scheduler = BlockingScheduler(timezone=ZoneInfo(tz))

    def renew():
        if not acquire(engine, holder, datetime.now(timezone.utc)):
            log.error("scheduler lease lost; stopping")
            scheduler.shutdown(wait=False)

    def stop(signum, _frame):
        log.info("stopping", signal=signum)
        scheduler.shutdown(wait=True)

    job = dict(args=(engine, tz, holder, notify, deliver), max_instances=1, coalesce=True, replace_existing=True)
    scheduler.add_job(nightly, CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(tz)), id="nightly",
                      misfire_grace_time=6 * 3600, **job)
    scheduler.add_job(nightly, id="catch-up", **job)  # no trigger: runs once, now
    scheduler.add_job(renew, "interval", minutes=1, id="lease", replace_existing=True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("daemon started", at=f"{hour:02d}:{minute:02d}", timezone=tz)
    try:
        scheduler.start()
    finally:
        release(engine, holder)
        log.info("daemon stopped")

"""Leases: one holder at a time for a named role (the scheduler), across processes
and machines sharing a database.

A lease is taken or renewed by one compare-and-set UPDATE: it succeeds when the
lease is free, expired at `now`, or already the caller's. The caller passes the
moment in, so the rules are a function of (database, holder, now).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from . import store
from .models import lease


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `ttl` from `now`; False when another holds it."""
    conn.execute(store.insert(conn, lease).values(name=name, holder="", expires_at=now)
                 .on_conflict_do_nothing(index_elements=["name"]))
    taken = conn.execute(update(lease).where(
        lease.c.name == name, or_(lease.c.holder == holder, lease.c.holder == "", lease.c.expires_at < now)
    ).values(holder=holder, expires_at=now + ttl)).rowcount
    return taken == 1


def take_over(conn: Connection, name: str, gone: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease from a holder known to be gone (its process no longer runs),
    only if `gone` still holds it: two new daemons cannot both take it."""
    return conn.execute(update(lease).where(lease.c.name == name, lease.c.holder == gone)
                        .values(holder=holder, expires_at=now + ttl)).rowcount == 1


def release(conn: Connection, name: str, holder: str) -> None:
    conn.execute(update(lease).where(lease.c.name == name, lease.c.holder == holder).values(holder=""))


def holder_of(conn: Connection, name: str) -> tuple[str, datetime] | None:
    """Who holds `name` and until when (None when free)."""
    row = conn.execute(select(lease.c.holder, lease.c.expires_at).where(lease.c.name == name)).first()
    return (row.holder, row.expires_at) if row and row.holder else None

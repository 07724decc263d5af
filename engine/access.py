"""Who may do what: the users of the bureau's server, their tokens, and the one function
that decides every read and write, for the server and for local commands alike.

Roles: the database's **operator** (local commands: the bureau's own administration) may do
everything; a **supervisor** reads and writes the units under its authority (its subtree)
and its authority's notices and ladder; a **unit** reads and does its own school work (and
that of the units it is the parent of, a 中心学校's village schools), never a supervisor's
act (extend, waive, approve, the payment file); an **auditor** reads its subtree, the audit
log included, and writes nothing.

A token is 32 random bytes: a plain SHA-256 of it is as strong as a slow hash would be,
and lets every request be checked in microseconds. Only the hash is stored.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from aidcal.i18n import N_, _

from . import authorities, driver, store
from .errors import InputError, refusal
from .models import app_user as au
from .models import unit as u

ROLES = (N_("supervisor"), N_("unit"), N_("auditor"))  # N_: shown translated, stored as they are
N_("operator")
READ, SCHOOL, SUPERVISE, OPERATE = "read", "school", "supervise", "operate"
AUDIT = "audit"  # reading the audit log: an auditor's or a supervisor's, never a school's
READS = (READ, AUDIT)
TOKEN_PREFIX = "aidcal_"


@dataclass(frozen=True)
class Actor:
    """Who acts: `local:<login>` as the operator, or a server user by its token."""
    name: str
    role: str  # operator, supervisor, unit, auditor
    scope: str = ""
    by: str = ""  # the name history rows carry: the operator's AIDCAL_USER (a clerk); a user's own name

    def __post_init__(self):
        if not self.by:
            object.__setattr__(self, "by", self.name)


def operator(login: str, by: str | None = None) -> Actor:
    """The database's operator: local commands, recorded in the audit as `local:<login>`."""
    return Actor(f"local:{login}", "operator", by=by or login)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, name: str, role: str, scope: str, now: datetime, by: str) -> str:
    """Create a user; returns its token, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 64 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise InputError(_("user name '{name}' must be 1–64 characters without spaces").format(name=name[:64]))
    if role not in ROLES:
        raise InputError(_("role '{role}' is not one of {roles}").format(role=role, roles=", ".join(ROLES)))
    if role == "unit":
        if conn.execute(select(u.c.id).where(u.c.code == scope)).first() is None:
            raise InputError(_("--scope {scope}: no unit has this code (a unit user's scope is its unit code)").format(
                scope=scope))
    else:
        authorities.check(scope, "--scope")
    if conn.execute(select(au.c.id).where(au.c.name == name)).first() is not None:
        raise InputError(_("user '{name}' exists already; revoke it first, or choose another name").format(name=name))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(au.insert().values(name=name, role=role, scope=scope, token_sha256=token_hash(token),
                                    created_at=now, created_by=by))
    return token


def revoke(conn: Connection, name: str, now: datetime, by: str) -> None:
    if not conn.execute(au.update().where(au.c.name == name, au.c.revoked_at.is_(None))
                        .values(revoked_at=now, revoked_by=by)).rowcount:
        raise InputError(_("no active user is named '{name}' (see: aidcal users list)").format(name=name))


def list_users(conn: Connection) -> list[dict]:
    return [dict(name=r.name, role=r.role, scope=r.scope, created_at=store.shown_moment(r.created_at),
                 created_by=r.created_by, revoked_at=store.shown_moment(r.revoked_at))
            for r in conn.execute(select(au).order_by(au.c.name))]


# Every server request runs it first: compiled once per dialect and run on the driver.
_TOKEN_USER = driver.Prepared(select(au.c.name, au.c.role, au.c.scope)
                             .where(au.c.token_sha256 == bindparam("hash"), au.c.revoked_at.is_(None)))


def authenticate(conn: Connection, token: str) -> Actor | None:
    """The active user a token belongs to, or None (unknown or revoked)."""
    rows = _TOKEN_USER(conn, {"hash": token_hash(token)})
    return Actor(*rows[0]) if rows else None


def authorise(conn: Connection, actor: Actor, act: str, units=(), authority: str | None = None) -> None:
    """Refuse (errors.Refused) unless `actor` may `act` on every one of `units` (codes)
    and on `authority` (a bureau's code). The operator may do anything."""
    if actor.role == "operator":
        return
    if act == OPERATE:
        raise refusal(N_("{user} ({role}) may not do this: it is the database operator's work"), terms=dict(role=actor.role),
                      user=actor.name)
    if actor.role == "auditor" and act not in READS:
        raise refusal(N_("{user} is an auditor: auditors read and never write"), user=actor.name)
    if actor.role == "unit" and act == SUPERVISE:
        raise refusal(N_("{user} acts for unit {unit}: this is a supervisor's act"), user=actor.name, unit=actor.scope)
    if actor.role == "unit" and act == AUDIT:
        raise refusal(N_("{user} acts for unit {unit}: the audit log is read by supervisors and auditors"),
                      user=actor.name, unit=actor.scope)
    if authority is not None and not _authority_allowed(actor, authority):
        raise refusal(N_("{user} may not act for bureau {authority}: outside its scope {scope}"),
                      user=actor.name, authority=authority, scope=actor.scope)
    codes = sorted(set(units))
    if codes:
        outside = _outside(conn, actor, codes)
        if outside:
            raise refusal(N_("{user} may not act for unit {unit}: outside its scope {scope} (or no unit has this code)"),
                          user=actor.name, unit=outside[0], scope=actor.scope)


def authorise_named(conn: Connection, actor: Actor, act: str, named: Callable[[], Iterable[str]]) -> None:
    """`authorise` on the units an upload names, which `named()` gathers (a sheet read through, the
    keyed hashes of its ID numbers looked up) only where the actor's reach has limits: the operator's
    has none, and a county's million-row import is not read once more for nothing."""
    if actor.role != "operator":
        authorise(conn, actor, act, units=set(named()) - {""})


def default_authority(actor: Actor) -> str | None:
    """A supervisor's or auditor's view when it names none: its own authority."""
    return actor.scope if actor.role in ("supervisor", "auditor") else None


def _authority_allowed(actor: Actor, authority: str) -> bool:
    if actor.role == "unit":
        return False
    return authority.startswith(authorities.scope(actor.scope))


# A request names one unit, nearly always: that check runs on every write, so it is compiled once and
# run on the driver (driver.Prepared), as the write's own statements are.
_ONE_FOR_UNIT = driver.Prepared(select(u.c.code).where(
    u.c.code == bindparam("code"), (u.c.code == bindparam("scope")) | (u.c.parent == bindparam("scope"))))
_ONE_UNDER = driver.Prepared(select(u.c.code).where(
    u.c.code == bindparam("code"), u.c.authority >= bindparam("low"), u.c.authority < bindparam("high")))


def _outside(conn: Connection, actor: Actor, codes: list[str]) -> list[str]:
    """The codes (of `codes`) the actor may not touch; a code no unit has is outside too,
    so a refusal never tells which codes exist."""
    if len(codes) == 1:
        if actor.role == "unit":
            found = _ONE_FOR_UNIT(conn, {"code": codes[0], "scope": actor.scope})
        else:
            low, high = authorities.bounds(actor.scope)
            found = _ONE_UNDER(conn, {"code": codes[0], "low": low, "high": high})
        return [] if found else codes
    allowed = set()
    for start in range(0, len(codes), 500):
        query = select(u.c.code).where(u.c.code.in_(codes[start:start + 500]))
        if actor.role == "unit":
            query = query.where((u.c.code == actor.scope) | (u.c.parent == actor.scope))
        else:
            query = query.where(authorities.under(u.c.authority, actor.scope))
        allowed.update(conn.execute(query).scalars())
    return [c for c in codes if c not in allowed]

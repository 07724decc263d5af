"""`aidcal users …` and `aidcal audit …`: who may reach the bureau's server, and the record
of what everyone did. Users and `audit verify` are the database's operator's, on the database
itself; `audit show` an auditor or supervisor also reads through the server, within its subtree."""
from __future__ import annotations

import click

from aidcal.i18n import N_, _

from .shell import DATE, FORMATS, format_option, say, utc_now
from .tables import render

# Catalog messages, as commands/tables.py's HEADERS: the table speaks the language in use.
HEADERS = {"name": N_("User name"), "role": N_("Role"), "scope": N_("Scope"), "created_at": N_("Created at"),
           "created_by": N_("Created by"), "revoked_at": N_("Revoked at"), "actor": N_("Actor"), "action": N_("Act"),
           "object": N_("Object"), "rows": N_("Rows written"), "summary": N_("Summary")}


@click.group()
def users():
    """Who may use the bureau's server: add (prints a token once), list, revoke."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["supervisor", "unit", "auditor"]), required=True,
              help="supervisor: the units under its bureau; unit: its own school (and those it is the parent of); "
                   "auditor: reads its bureau's subtree and the audit log, writes nothing.")
@click.option("--scope", required=True, help="The bureau's 6-digit code (supervisor, auditor) or the unit's code (unit).")
@click.pass_obj
def users_add(obj, name, role, scope):
    """Create user NAME and print its token, once: only its hash is kept, so a lost token is revoked and replaced."""
    from aidcal.engine import access
    with obj.writing("users.add", name) as conn:
        token = access.add_user(conn, name, role, scope.strip(), utc_now(), obj.actor.name)
    say(_("user {name} ({role}, {scope}) added; its token, shown only this once:").format(name=name, role=_(role),
                                                                                       scope=scope))
    click.echo(token)


@users.command("list")
@format_option(FORMATS)
@click.pass_obj
def users_list(obj, fmt):
    """Every user, with role, scope and whether it is revoked (tokens are never shown again)."""
    from aidcal.engine import access, store
    with store.reading(obj.engine) as conn:
        rows = access.list_users(conn)
    render(fmt, _("users: {n}").format(n=len(rows)), rows,
           ["name", "role", "scope", "created_at", "created_by", "revoked_at"], HEADERS)


@users.command("revoke")
@click.argument("name")
@click.pass_obj
def users_revoke(obj, name):
    """Revoke user NAME's token at once; its past acts stay in the audit log."""
    from aidcal.engine import access
    with obj.writing("users.revoke", name) as conn:
        access.revoke(conn, name, utc_now(), obj.actor.name)
    click.echo(_("user {name} revoked").format(name=name))


@click.group()
def audit():
    """The record of every write and refusal: show it, verify its chain and the rows it vouches for."""


@audit.command("verify")
@click.option("--head", metavar="HASH", help="A head hash recorded earlier (e.g. in a monthly report): "
                                             "the chain must still contain it, or its tail was cut off.")
@click.option("--data", is_flag=True, help="Also read again the rows the latest entries wrote and name those changed since.")
@click.option("--latest", type=click.IntRange(min=1), default=1000, show_default=True,
              help="How many of the latest entries --data checks.")
@click.pass_obj
def audit_verify(obj, head, data, latest):
    """Check that no audit entry was edited, deleted, inserted or moved; print the head hash to keep outside."""
    from aidcal.engine import audit as engine_audit
    from aidcal.engine import store
    with store.reading(obj.engine) as conn:
        verdict = engine_audit.verify(conn, head and head.strip(), data, latest)
    if verdict.broken:
        click.echo(_("audit chain broken: {why}").format(why=verdict.broken), err=True)
        raise SystemExit(1)
    if verdict.changed:
        for line in verdict.changed:
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo(_("audit chain intact: {n} entries; head {head}").format(n=verdict.entries, head=verdict.head))
    if verdict.unlinked:
        click.echo(_("{n} newer entries are not linked into the chain yet (the server links them within a second, "
                     "a local command as it ends)").format(n=verdict.unlinked))
    if data:
        click.echo(_("the rows the latest {n} entries wrote are as written").format(n=min(latest, verdict.entries)))


@audit.command("show")
@click.option("--unit", help="Only entries about this unit (code).")
@click.option("--actor", help="Only entries of this user (or local:LOGIN).")
@click.option("--since", type=DATE, help="Only entries from this day on (YYYY-MM-DD, Beijing time).")
@click.option("--action", help="Only this act, e.g. tasks.done, cases.advance, escalate.")
@click.option("--outcome", type=click.Choice(["done", "refused"]), help="Only writes done, or only refusals.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="The latest N entries (0: all).")
@format_option(FORMATS)
@click.pass_obj
def audit_show(obj, unit, actor, since, action, outcome, limit, fmt):
    """The audit entries, oldest first: when, who, what, on what, outcome, rows written."""
    rows = obj.call("audit.show", unit=unit, who=actor, since=since, action=action, outcome=outcome,
                    limit=limit)
    render(fmt, _("audit entries: {n}").format(n=len(rows)), rows,
           ["id", "at", "actor", "action", "object", "outcome", "rows", "summary"], HEADERS,
           keep=("at",))  # an audit entry without its moment says little; the object folds instead

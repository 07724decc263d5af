"""`aidcal escalate`, `notices …`, `outbox …`, `runs …`, `engine run`: the nightly ladder and what it sends."""
from __future__ import annotations

import click

from aidcal.engine.vocabulary import MESSAGE_STATUSES
from aidcal.i18n import _

from .files import evidence_file
from .shell import PERIOD, ROW_ID, as_of_option, format_option, say, today, user, utc_now, working
from .tables import print_json, print_table, render


@click.command()
@as_of_option
@click.option("--dry-run", is_flag=True, help="Print what a run would take on that day, without writing anything.")
@click.option("--limit", type=click.IntRange(min=0), default=30, show_default=True,
              help="Steps shown in the table (json carries every step).")
@format_option()
@click.pass_obj
def escalate(obj, as_of, dry_run, limit, fmt):
    """The nightly run: take every ladder rung due (reminders, notices, escalations), draft notices, queue messages.

    Idempotent: a second run for the same day takes nothing and queues nothing.
    """
    from aidcal.engine import escalation, store
    as_of = as_of or today()
    channels = [c.channel for c in obj.notify.channels]
    with working(_("escalating")):
        if dry_run:
            result = escalation.rehearse(obj.engine, as_of, user(), channels)
        else:
            result = escalation.nightly(obj.engine, as_of, user(), channels, obj.notify.alerts, obj.actor.name)
    if dry_run:
        shown = result.would if fmt == "json" else result.would[:limit]
    else:
        with store.reading(obj.engine) as conn:
            shown = escalation.steps_of_run(conn, result.run_id, None if fmt == "json" else limit)
    if fmt == "json":
        print_json([{k: x[k] for k in ("unit", "task", "period", "rung", "due_on", "taken_on", "notice")} for x in shown])
    else:
        title = _("steps a run would take as of {day}: {n}, {shown} shown") if dry_run else _(
            "steps taken as of {day}: {n}, {shown} shown")
        print_table(title.format(day=as_of, n=result.taken, shown=len(shown)), shown,
                    ["unit", "unit_name", "task", "title", "period", "rung", "due_on", "notice"], limited=limit == 0)
    counts = _(", ").join(f"{_(k)} {v}" for k, v in result.counts.items())
    say((_("escalate as of {day}: would take {n} steps ({counts})") if dry_run else
         _("escalate as of {day}: run {run}: took {n} steps ({counts})")).format(day=as_of, run=result.run_id, n=result.taken,
                                                                                 counts=counts))


@click.group()
def notices():
    """Public notices (通报): list, show, sign (issue), export for printing, record rectification."""


@notices.command("list")
@click.option("--authority", help="Only notices of this bureau and the bureaus under it (6-digit code).")
@format_option()
@click.pass_obj
def notices_list(obj, authority, fmt):
    """Every notice: draft or issued, its number, date and how many units it names."""
    listed = obj.call("notices.list", authority=authority)
    rows = listed["rows"]
    if fmt == "json":
        print_json(rows)  # the internal number (YYYY-N), the key scripts use
        return
    from aidcal.actions.notice_docs import document_number
    shown = [{**r, "number": document_number({"number": r["number"], "style": listed["styles"].get(r["authority"], {})})}
             for r in rows]
    print_table(_("notices: {n}").format(n=len(rows)), shown, ["id", "number", "status", "drafted_on", "issued_on", "signed_by", "units", "items"])


@notices.command("show")
@click.argument("notice_id", type=ROW_ID)
@as_of_option
@format_option()
@click.pass_obj
def notices_show(obj, notice_id, as_of, fmt):
    """One notice with each unit's late work, its rectification deadline and status as of a day."""
    notice = obj.call("notices.show", notice=notice_id, as_of=as_of)
    if fmt == "json":
        print_json([notice])
        return
    from aidcal.actions.notice_docs import document_number
    number = document_number(notice)
    head = (_("notice {number}, drafted {day}") if number else _("notice (draft), drafted {day}")).format(
        number=number, day=notice["drafted_on"])
    if notice["issued_on"]:
        head += _(", issued {day} ({signer})").format(day=notice["issued_on"], signer=notice["signed_by"])
    if notice["discarded_on"]:
        head += _(", discarded {day} ({reason})").format(day=notice["discarded_on"], reason=notice["discard_reason"])
    print_table(head, notice["items"], ["unit", "unit_name", "task", "title", "period", "due", "rectify_by", "rectified_on", "status"])
    if notice["dropped"]:
        print_table(_("{n} items not in the notice (done, waived, cancelled or dropped since the draft)").format(n=len(notice["dropped"])),
                    notice["dropped"], ["unit", "unit_name", "task", "title", "period", "due", "reason"])


@notices.command("sign")
@click.argument("notice_id", type=ROW_ID)
@click.option("--by", "signer", required=True, help="Who signs (签发人); recorded on the notice.")
@as_of_option
@click.pass_obj
def notices_sign(obj, notice_id, signer, as_of):
    """Issue a drafted notice: it gets its number (YYYY-N) and date; rectification deadlines start from that date."""
    from aidcal.actions.notice_docs import document_number
    signed = obj.call("notices.sign", notice=notice_id, signer=signer, as_of=as_of)
    click.echo(_("notice {id} issued as {number} on {day} by {signer}: {document}").format(
        id=notice_id, number=signed["number"], day=signed["as_of"], signer=signer, document=document_number(signed["notice"])))


@notices.command("export")
@click.argument("notice_id", type=ROW_ID)
@click.option("--format", "fmt", type=click.Choice(["docx", "md"]), required=True, help="docx (Word, to print) or md (Markdown).")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@as_of_option
@click.pass_obj
def notices_export(obj, notice_id, fmt, output, as_of):
    """Write a notice as a document: number, date, the units, their late tasks, due dates and rectification deadlines."""
    from pathlib import Path

    from aidcal.actions import notice_docs
    notice = obj.call("notices.show", notice=notice_id, as_of=as_of)
    (notice_docs.write_docx if fmt == "docx" else notice_docs.write_markdown)(notice, notice["authority_name"], Path(output))
    say(_("notice {id} written to {file}").format(id=notice_id, file=output))


def _item_target(fn):
    """--unit CODE [--task KEY --period P]: the items of a notice a command acts on."""
    fn = click.option("--period", type=PERIOD, help="Only this occurrence of --task.")(fn)
    fn = click.option("--task", "key", metavar="KEY", help="Only this task of the unit (its key in calendar.yaml).")(fn)
    return click.option("--unit", "unit_code", required=True, help="The unit (code).")(fn)


@notices.command("rectify")
@click.argument("notice_id", type=ROW_ID)
@_item_target
@click.option("--evidence", "evidence_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A file proving the work (repeatable), where the task asks for evidence.")
@click.option("--note", help="What was done (kept with the record).")
@as_of_option
@click.pass_obj
def notices_rectify(obj, notice_id, unit_code, key, period, evidence_files, note, as_of):
    """Record a unit's rectification: the late work done (its completion, with the task's evidence rules) on the day."""
    files = [evidence_file(obj, f) for f in evidence_files]
    done = obj.call("notices.rectify", notice=notice_id, unit=unit_code, task=key, period=period, files=files, note=note,
                    as_of=as_of)
    click.echo(_("notice {id}: {n} items of unit {unit} rectified on {day}").format(id=notice_id, n=done["items"], unit=unit_code,
                                                                                     day=done["as_of"]))


@notices.command("drop")
@click.argument("notice_id", type=ROW_ID)
@_item_target
@click.option("--reason", required=True, help="Why the item leaves the draft (kept in its record).")
@as_of_option
@click.pass_obj
def notices_drop(obj, notice_id, unit_code, key, period, reason, as_of):
    """Take a unit's items (or one task's) out of a draft notice before it is signed."""
    dropped = obj.call("notices.drop", notice=notice_id, unit=unit_code, task=key, period=period, reason=reason, as_of=as_of)
    click.echo(_("notice {id}: {n} items of unit {unit} dropped from the draft").format(id=notice_id, n=dropped["items"],
                                                                                         unit=unit_code))


@notices.command("discard")
@click.argument("notice_id", type=ROW_ID)
@click.option("--reason", required=True, help="Why the draft is not issued (kept in its record).")
@as_of_option
@click.pass_obj
def notices_discard(obj, notice_id, reason, as_of):
    """Discard a draft notice: it is kept in the record, never issued, never escalated."""
    obj.call("notices.discard", notice=notice_id, reason=reason, as_of=as_of)
    click.echo(_("notice {id}: discarded").format(id=notice_id))


@click.group("outbox")
def outbox_group():
    """Messages decided by runs: list them, deliver the pending ones now."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(MESSAGE_STATUSES), help="Only messages with this status.")
@format_option()
@click.pass_obj
def outbox_list(obj, status, fmt):
    """Messages with their channel, recipient, stable msgid, status and attempts."""
    from aidcal.engine import outbox, store
    with store.reading(obj.engine) as conn:
        rows = outbox.list_messages(conn, status)
    render(fmt, _("outbox: {n} messages").format(n=len(rows)), rows,
           ["id", "run", "channel", "recipient", "status", "attempts", "next_attempt_at", "last_error"])


@outbox_group.command("deliver")
@click.pass_obj
def outbox_deliver(obj):
    """Deliver pending messages now (retries with backoff; completed work is not announced)."""
    import time

    from aidcal.actions.deliver import send
    from aidcal.engine import delivery
    report = delivery.deliver(obj.engine, obj.notify, utc_now(), send, time.monotonic, time.sleep)
    for error in report.errors:
        say(_("warning: ") + error)
    click.echo(_("outbox: {sent} sent, {failed} failed (will retry), {superseded} superseded").format(
        sent=report.sent, failed=report.failed, superseded=report.superseded))
    if report.failed:
        raise SystemExit(1)  # a script or cron sees that something did not go out


@click.group()
def runs():
    """The record of escalation runs."""


@runs.command("list")
@format_option()
@click.pass_obj
def runs_list(obj, fmt):
    """Each run: as-of date, start, end, counts by rung, outcome, errors."""
    from aidcal.engine import escalation, store
    with store.reading(obj.engine) as conn:
        rows = escalation.list_runs(conn)
    if fmt == "json":
        print_json(rows)
    else:
        for r in rows:
            r["counts"] = _(", ").join(f"{_(k)} {v}" for k, v in r["counts"].items())
        print_table(_("escalation runs"), rows, ["id", "as_of", "started", "finished", "outcome", "counts", "failed_messages", "error"])


@click.group("engine")
def engine_group():
    """The daemon."""


@engine_group.command("run")
@click.option("--at", "at", default="01:30", show_default=True, help="When the nightly run starts (HH:MM, Asia/Shanghai).")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write JSON logs to this file (default: stderr).")
@click.pass_obj
def engine_run(obj, at, log_file):
    """Run the scheduler: a catch-up run now, then every night at --at; SIGTERM stops it cleanly."""
    from aidcal import daemon
    from aidcal.engine import logs
    try:
        hour, minute = (int(x) for x in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise click.BadParameter(_("'{value}' is not a time (HH:MM)").format(value=at), param_hint="--at") from None
    if log_file:
        logs.configure(json_to=open(log_file, "a", encoding="utf-8", buffering=1))
    daemon.run(obj.engine, obj.notify, hour=hour, minute=minute)

"""`aidcal cases …`: each student's aid case, from import to archive."""
from __future__ import annotations

import click

from aidcal.i18n import _

from .files import sheet_file
from .shell import DATE, MONEY, ROW_ID, as_of_option, format_option, say, term_option, today, working
from .tables import render


@click.group()
def cases():
    """Students' aid cases: import, list, move (advance, object, resolve), record facts, history."""


@cases.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--programme", required=True, help="The programme key (see: aidcal programmes list).")
@term_option(required=True)
@as_of_option
@click.pass_obj
def cases_import(obj, file, programme, term, as_of):
    """Import applicants for a programme and term, all or nothing (CSV UTF-8/BOM/GB18030 or XLSX).

    Header: name,id_number,phone,unit,grade,class,level,bank_card[,boarding] or
    姓名,身份证号,联系电话,学校代码,年级,班级,困难等级,银行卡号[,是否住宿].
    """
    with working(_("importing cases")):
        n = obj.call("cases.import", sheet=sheet_file(file), programme=programme, term=term, as_of=as_of)["imported"]
    click.echo(_("cases: {n} imported into {programme} {term}").format(n=n, programme=programme, term=term))


@cases.command("list")
@click.option("--authority", help="Only units under this bureau (6-digit code): a county's, or a city's counties.")
@click.option("--unit", help="Only this unit (code).")
@click.option("--programme", help="Only this programme.")
@term_option()
@click.option("--state", help="Only cases in this state.")
@click.option("--held-by", "held_by", help="Only cases waiting on this guard (e.g. publicity_ended).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many cases.")
@as_of_option
@format_option()
@click.pass_obj
def cases_list(obj, authority, unit, programme, term, state, held_by, limit, as_of, fmt):
    """Cases with their level, amount for the term and state; ID, phone and bank card masked."""
    rows = obj.call("cases.list", authority=authority, unit=unit, programme=programme, term=term, state=state, held_by=held_by,
                    limit=limit, as_of=as_of)
    render(fmt, _("cases: {n}").format(n=len(rows)), rows,
           ["case", "unit", "name", "id_number", "programme", "term", "level", "amount", "state"])


@cases.command("advance")
@click.argument("case_id", type=ROW_ID, required=False)
@click.option("--unit", help="Bulk: only this unit (code); without it, every unit.")
@click.option("--programme", help="Bulk: the programme.")
@term_option()
@click.option("--from", "source", help="Bulk: the state the cases are in.")
@click.option("--to", "dest", required=True, help="The state to move to.")
@as_of_option
@format_option()
@click.pass_obj
def cases_advance(obj, case_id, unit, programme, term, source, dest, as_of, fmt):
    """Move one case (CASE) or every case of a programme, term and state (of one --unit, or all) whose guards hold.

    A held single case is refused with exit 2, naming the guard and the date the move becomes possible.
    """
    import json

    as_of = as_of or today()
    bulk = (programme, term, source)
    if not (case_id is not None and not any((unit, *bulk)) or case_id is None and all(bulk)):
        raise click.UsageError(_("give CASE, or --programme, --term and --from (and --unit for one unit), not both"))
    with working(_("moving cases")):
        result = obj.call("cases.advance", case=case_id, unit=unit, programme=programme, term=term, source=source, dest=dest,
                          as_of=as_of)
    trigger = result.pop("trigger", None)
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False))
    elif case_id is not None:
        click.echo(_("case {case}: {trigger} → {dest} on {day}").format(case=case_id, trigger=_(trigger), dest=_(dest), day=as_of))
    else:
        held = _(", ").join((_("{guard} {n} (possible from {day})") if g in result["possible_from"] else _("{guard} {n}")).format(
            guard=g, n=n, day=result["possible_from"].get(g)) for g, n in result["held"].items()) or _("none")
        click.echo(_("moved {n} cases {source} → {dest}; held: {held}").format(
            n=result["moved"], source=_(source), dest=_(dest), held=held))


@cases.command("object")
@click.argument("case_id", type=ROW_ID)
@click.option("--reason", required=True, help="The objection (kept in the history).")
@as_of_option
@click.pass_obj
def cases_object(obj, case_id, reason, as_of):
    """Record an objection raised during publicity: the case goes to review (复核)."""
    obj.call("cases.object", case=case_id, reason=reason, as_of=as_of)
    click.echo(_("case {case}: under review").format(case=case_id))


@cases.command("resolve")
@click.argument("case_id", type=ROW_ID)
@click.option("--upheld", "upheld", flag_value=True, default=None, help="The objection stands: new --level, or terminate.")
@click.option("--dismissed", "upheld", flag_value=False, help="The objection fails: back to publicity, same end date.")
@click.option("--level", help="With --upheld: the new level (publicity restarts); without it the case is terminated.")
@click.option("--note", required=True, help="The finding (kept in the history).")
@as_of_option
@click.pass_obj
def cases_resolve(obj, case_id, upheld, level, note, as_of):
    """Resolve an objection: --dismissed returns the case to publicity; --upheld changes its level or terminates it."""
    if upheld is None:
        raise click.UsageError(_("give --upheld or --dismissed"))
    outcome = obj.call("cases.resolve", case=case_id, upheld=upheld, note=note, level=level, as_of=as_of)["outcome"]
    click.echo(_("case {case}: {outcome}").format(case=case_id, outcome=outcome))


@cases.command("record")
@click.argument("case_id", type=ROW_ID, required=False)
@click.option("--file", "sheet", type=click.Path(dir_okay=False),
              help="A sheet: case,callback_outcome,documents,card,cash_approval (documents joined by ;).")
@click.option("--callback-outcome", help="The phone follow-up's outcome (回访结果).")
@click.option("--document", "documents", multiple=True, help="An archive document now on file (repeatable).")
@click.option("--card", type=click.Choice(["bank", "social-security"]), help="Pay to the student's bank or social-security card.")
@click.option("--cash-approval", help="The reference of a recorded approval to pay in cash.")
@click.option("--bank-card", help="A new card number (the bank refused the old one); it goes into the next payment file.")
@click.option("--amount", type=MONEY, help="An amount (yuan, this term) different from the standard; needs --reason.")
@click.option("--reason", help="Why the amount differs from the standard.")
@as_of_option
@click.pass_obj
def cases_record(obj, case_id, sheet, callback_outcome, documents, card, cash_approval, bank_card, amount, reason, as_of):
    """Record what the guards need: callback outcomes, documents, card type, cash approvals, amount overrides."""
    if (case_id is None) == (sheet is None):
        raise click.UsageError(_("give CASE or --file FILE"))
    n = obj.call("cases.record", case=case_id, sheet=sheet and sheet_file(sheet), callback_outcome=callback_outcome,
                 documents=list(documents) or None, card=card, cash_approval=cash_approval, bank_card=bank_card, amount=amount,
                 reason=reason, as_of=as_of)["recorded"]
    click.echo(_("recorded for {n} case(s)").format(n=n))


@cases.command("history")
@click.argument("case_id", type=ROW_ID)
@format_option()
@click.pass_obj
def cases_history(obj, case_id, fmt):
    """Every transition of a case: when, which move, from, to, who, why."""
    rows = obj.call("cases.history", case=case_id)
    render(fmt, _("case {case}: its moves").format(case=case_id), rows, ["on", "trigger", "from_state", "to_state", "by", "reason"])


@cases.command("stop")
@click.argument("case_id", type=ROW_ID)
@click.option("--kind", required=True, type=click.Choice(["转学", "休学", "退学", "死亡", "其他"]), help="The change (异动).")
@click.option("--paying-unit", required=True, help="The school that pays this term (code): the old one or the new.")
@click.option("--reason", required=True, help="What happened (kept in the history).")
@as_of_option
@click.pass_obj
def cases_stop(obj, case_id, kind, paying_unit, reason, as_of):
    """Stop a case (异动: transfer, suspension, drop-out, death): no later payment; records which school pays the term."""
    obj.call("cases.stop", case=case_id, kind=kind, paying_unit=paying_unit, reason=reason, as_of=as_of)
    click.echo(_("case {case}: stopped ({kind}); this term is paid by {unit}").format(case=case_id, kind=kind, unit=paying_unit))


@cases.command("recover")
@click.argument("case_id", type=ROW_ID)
@click.option("--amount", required=True, type=MONEY, help="The yuan recovered (at most what was paid).")
@click.option("--on", "on", required=True, type=DATE, help="The day the money came back (YYYY-MM-DD).")
@click.option("--reason", required=True, help="Why (e.g. the false information found).")
@as_of_option
@click.pass_obj
def cases_recover(obj, case_id, amount, on, reason, as_of):
    """Record money recovered (追回) from a case paid on false information; the case ends recovered."""
    obj.call("cases.recover", case=case_id, amount=amount, on=on, reason=reason, as_of=as_of)
    click.echo(_("case {case}: {amount:.2f} yuan recovered on {day}").format(case=case_id, amount=amount, day=on))


@cases.command("transfer")
@click.argument("case_id", type=ROW_ID)
@click.option("--to-unit", required=True, help="The student's new school (code).")
@click.option("--reason", required=True, help="Why (kept in the history).")
@as_of_option
@click.pass_obj
def cases_transfer(obj, case_id, to_unit, reason, as_of):
    """Move a case to the student's new school, keeping its state and its whole history."""
    name = obj.call("cases.transfer", case=case_id, to_unit=to_unit, reason=reason, as_of=as_of)["name"]
    click.echo(_("case {case}: now at {name} ({unit})").format(case=case_id, name=name, unit=to_unit))


def _output_format(output: str) -> str:
    from aidcal.engine.errors import InputError
    suffix = output.rsplit(".", 1)[-1].lower() if "." in output else ""
    if suffix not in ("csv", "xlsx"):
        raise InputError(_("--output {file}: the file name must end in .csv or .xlsx").format(file=output))
    return suffix


def _write_rows(produced: dict, fmt: str, output: str, title: str) -> list[dict]:
    """A file an act handed back as rows (a bank's, a roster), written here with its amounts exact."""
    from decimal import Decimal

    from aidcal.actions.exports import write
    rows = [{**row, "amount": Decimal(row["amount"])} for row in produced["rows"]]
    write(rows, produced["columns"], produced["headers"], fmt, output, title=title)
    return rows


@cases.command("purge")
@click.option("--before", required=True, metavar="YYYY-spring|YYYY-autumn",
              help="Erase the personal data of cases of every term before this one (and of those school years' identifications).")
@click.option("--reason", required=True, help="Why: the retention period the bureau follows (kept in the audit log).")
@as_of_option
@click.pass_obj
def cases_purge(obj, before, reason, as_of):
    """Erase names, ID numbers, phones, cards and categories of finished cases past retention; amounts and history stay."""
    from aidcal.engine import audit, reseal

    from .keys import compacted
    entry = obj.entry("cases.purge", before)
    with audit.audited(obj.engine, entry) as conn:
        result = reseal.purge(conn, before, obj.keys, as_of or today())
        entry.rows = result["cases"] + result["identifications"]
        entry.summary = f"before={before} cases={result['cases']} identifications={result['identifications']} reason={reason}"
    compacted(obj)
    click.echo(_("purged before {term}: {cases} cases and {identifications} identifications (names, numbers and categories "
                 "erased; programmes, amounts, states and history kept)").format(term=before, **result))


@cases.group("payfile")
def payfile():
    """The bank's payment file (代发): approved cases paying to a card."""


@payfile.command("export")
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
@click.option("--unit", help="Only this unit (code); without it, every unit.")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="The file to write (.csv or .xlsx).")
@click.option("--reason", required=True, help="Why full numbers leave the database (kept in the audit log), e.g. 2021年秋季代发.")
@click.pass_obj
def payfile_export(obj, programme, term, unit, output, reason):
    """Write the payment file: 姓名,身份证号,银行卡号,金额, full numbers as the bank needs them (mode 0600).

    Cases the bank refused last time are in it again; paid cases never are. The export is in the audit log, with --reason.
    """
    fmt = _output_format(output)
    with working(_("writing the payment file")):
        produced = obj.call("cases.payfile.export", programme=programme, term=term, unit=unit, reason=reason)
    rows = _write_rows(produced, fmt, output, f"代发名单 {programme} {term}")
    total = sum(r["amount"] for r in rows)
    say(_("payment file of {n} cases, {total:.2f} yuan, written to {file}").format(n=len(rows), total=total, file=output))


@cases.group("bankreturn")
def bankreturn():
    """The bank's return file: which payments went through."""


@bankreturn.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
@as_of_option
@click.pass_obj
def bankreturn_import(obj, file, programme, term, as_of):
    """Read the bank's return (身份证号,金额,结果,原因; 结果 成功 or 失败), all or nothing.

    Paid rows move to payout dated the as-of day; failed rows stay approved with the bank's reason
    and go into the next payment file.
    """
    with working(_("reading the bank's return")):
        result = obj.call("cases.bankreturn.import", sheet=sheet_file(file), programme=programme, term=term, as_of=as_of)
    click.echo((_("bank return: {paid} paid, {failed} failed (they go into the next payment file)") if result["failed"]
                else _("bank return: {paid} paid, {failed} failed")).format(paid=result["paid"], failed=result["failed"]))


@cases.group("roster")
def roster():
    """The signed payout roster (签字发放花名册): one per unit × programme × term."""


@roster.command("export")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="The file to write (.csv or .xlsx).")
@click.pass_obj
def roster_export(obj, unit, programme, term, output):
    """Write the roster to sign: case, name, masked ID, grade, class, amount, and the signature columns (no card)."""
    fmt = _output_format(output)
    rows = _write_rows(obj.call("cases.roster.export", unit=unit, programme=programme, term=term), fmt, output,
                       f"签字发放花名册 {unit} {programme} {term}")
    say(_("roster of {n} cases written to {file}").format(n=len(rows), file=output))


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def roster_import(obj, file, as_of):
    """Record who signed each row (签字人 本人 or 监护人, 签字日期), all or nothing; the roster is then on file for archiving."""
    result = obj.call("cases.roster.import", sheet=sheet_file(file), as_of=as_of)
    click.echo(_("roster: {signed} signed, {unsigned} not yet signed").format(signed=result["signed"], unsigned=result["unsigned"]))

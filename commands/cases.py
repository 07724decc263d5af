"""`aidcal workflow …`, `programmes …`, `cases …`, `publicity …`: each student's aid."""
from __future__ import annotations

import click

from .shell import ROW_ID, as_of_option, format_option, render, say, today, user


@click.group()
def workflow():
    """Case state machines (workflows/*.yaml): check, load into the database, draw."""


@workflow.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def workflow_check(file):
    """Validate a workflow file: unknown or unreachable states, unknown guards and effects, as file:line errors."""
    from aidcal.engine import workflow as wf
    spec = wf.read(file)
    click.echo(f"{file}: ok: workflow {spec.name}, {len(spec.states)} states, {len(spec.transitions)} transitions")


@workflow.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def workflow_load(obj, file, as_of):
    """Validate FILE and store it as the workflow in force; prints what changed.

    Refused when cases are in a state the file removes.
    """
    from pathlib import Path

    from aidcal.engine import rules, store
    from aidcal.engine.located import read_text
    text = read_text(file)
    with store.writing(obj.engine) as conn:
        report = rules.load_workflow(conn, text, Path(file).name, as_of or today(), user())
    _say_loaded(report)


def _say_loaded(report) -> None:
    what = "programmes" if report.kind == "programmes" else f"workflow {report.name}"
    if not report.changed:
        click.echo(f"{what}: unchanged (version {report.version} is in force)")
        return
    click.echo(f"{what}: version {report.version} loaded")
    for line in report.changes:
        click.echo(f"  {line}")


def _say_version(kind: str, name: str, version: dict | None) -> None:
    if version:
        say(f"{name if kind == 'workflow' else 'programmes'}: version {version['version']} ({version['source']}), "
            f"loaded {version['loaded_at']} by {version['loaded_by']}")


@workflow.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "png"]), default="mermaid", show_default=True,
              help="mermaid (text for any Markdown viewer) or png (needs graphviz).")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (required for png).")
@click.pass_obj
def workflow_show(obj, name, fmt, output):
    """Draw workflow NAME (e.g. student_aid) with its triggers and guards."""
    from aidcal.engine import rules, store
    with store.reading(obj.engine) as conn:
        spec = rules.workflow(conn, name)
        _say_version("workflow", name, rules.versions(conn, rules.WORKFLOW, name))
    from aidcal.actions.exports import replacing
    from aidcal.engine.errors import InputError
    if fmt == "mermaid":
        text = spec.mermaid()
        if output:
            with replacing(output) as path:
                path.write_text(text, encoding="utf-8")
        else:
            click.echo(text)
        return
    if not output:
        raise InputError("--format png needs --output FILE")
    import importlib.util
    import shutil
    if importlib.util.find_spec("graphviz") is None and importlib.util.find_spec("pygraphviz") is None \
            or shutil.which("dot") is None:
        raise InputError("--format png needs graphviz (pip install graphviz; apt-get install graphviz); "
                         "--format mermaid needs nothing")
    try:
        with replacing(output) as path:
            spec.graph("graphviz").draw(str(path), prog="dot", format="png")
    except (ImportError, OSError) as exc:
        raise InputError(f"png needs graphviz (pip install graphviz; apt-get install graphviz): {exc}") from None
    say(f"workflow {name} drawn to {output}")


@click.group()
def programmes():
    """Aid programmes and their standards (programmes.yaml): load into the database, list."""


@programmes.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def programmes_load(obj, file, as_of):
    """Validate FILE and store it as the programmes in force; prints what changed.

    A changed standard applies from the term it names: cases of that term not yet
    posted take it; posted, approved and paid cases keep their amount.
    """
    from pathlib import Path

    from aidcal.engine import rules, store
    from aidcal.engine.located import read_text
    text = read_text(file)
    with store.writing(obj.engine) as conn:
        report = rules.load_programmes(conn, text, Path(file).name, as_of or today(), user())
    _say_loaded(report)


@programmes.command("list")
@click.option("--term", help="Only the rates in force in this term (YYYY-spring or YYYY-autumn).")
@format_option()
@click.pass_obj
def programmes_list(obj, term, fmt):
    """Each programme's annual standard per level, and the term each rate takes effect from."""
    from aidcal.engine import programmes as progs
    from aidcal.engine import rules, store
    if term:
        progs.term_order(term)
    with store.reading(obj.engine) as conn:
        known = rules.programmes(conn)
        _say_version("programmes", "programmes", rules.versions(conn, rules.PROGRAMMES, rules.PROGRAMMES))
    rows = []
    for p in known.values():
        rates = [p.rate(term)] if term else list(p.rates)
        for rate in filter(None, rates):
            for level, amount in rate[1].items():
                rows.append(dict(programme=p.key, title=p.title, level=progs.LEVELS.get(level, "不分等级"),
                                 amount=amount, term_from=rate[0]))
    render(fmt, "资助项目与标准（元/生·年）", rows, ["programme", "title", "level", "amount", "term_from"],
           {"title": "项目名称"})


@click.group()
def cases():
    """Students' aid cases: import, list, move (advance, object, resolve), record facts, history."""


def _term_option(required=False):
    return click.option("--term", required=required, metavar="YYYY-spring|YYYY-autumn", help="The term.")


@cases.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--programme", required=True, help="The programme key (see: aidcal programmes list).")
@_term_option(required=True)
@as_of_option
@click.pass_obj
def cases_import(obj, file, programme, term, as_of):
    """Import applicants for a programme and term, all or nothing (CSV UTF-8/BOM/GB18030 or XLSX).

    Header: name,id_number,phone,unit,grade,class,level,bank_card[,boarding] or
    姓名,身份证号,联系电话,学校代码,年级,班级,困难等级,银行卡号[,是否住宿].
    """
    from aidcal.engine import cases as engine_cases
    n = engine_cases.import_file(obj.engine, file, programme, term, as_of or today(), user())
    click.echo(f"cases: {n} imported into {programme} {term}")


@cases.command("list")
@click.option("--authority", help="Only units under this bureau (6-digit code): a county's, or a city's counties.")
@click.option("--unit", help="Only this unit (code).")
@click.option("--programme", help="Only this programme.")
@_term_option()
@click.option("--state", help="Only cases in this state.")
@click.option("--held-by", "held_by", help="Only cases waiting on this guard (e.g. publicity_ended).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many cases.")
@as_of_option
@format_option()
@click.pass_obj
def cases_list(obj, authority, unit, programme, term, state, held_by, limit, as_of, fmt):
    """Cases with their level, amount for the term and state; ID, phone and bank card masked."""
    from aidcal.engine import cases as engine_cases
    from aidcal.engine import filters, store
    with store.reading(obj.engine) as conn:
        filters.check(conn, authority=authority, unit=unit, programme=programme, term=term, state=state, held_by=held_by)
        where = engine_cases.scope(unit, programme, term, state, authority and authority.strip())
        if held_by:
            where.append(engine_cases.held_by(conn, held_by, as_of or today()))
        rows = engine_cases.list_cases(conn, where, limit)
    render(fmt, f"个案：{len(rows)} 个", rows,
           ["case", "unit", "name", "id_number", "programme", "term", "level", "amount", "state"])


@cases.command("advance")
@click.argument("case_id", type=ROW_ID, required=False)
@click.option("--unit", help="Bulk: only this unit (code); without it, every unit.")
@click.option("--programme", help="Bulk: the programme.")
@_term_option()
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

    from aidcal.engine import filters, moves, store
    as_of = as_of or today()
    bulk = (programme, term, source)
    if not (case_id is not None and not any((unit, *bulk)) or case_id is None and all(bulk)):
        raise click.UsageError("give CASE, or --programme, --term and --from (and --unit for one unit), not both")
    with store.writing(obj.engine) as conn:
        if case_id is not None:
            trigger = moves.advance_one(conn, case_id, dest, as_of, user())
            result = {"moved": 1, "held": {}, "possible_from": {}}
        else:
            filters.check(conn, unit=unit, programme=programme, term=term)
            result = moves.advance_bulk(conn, unit=unit, programme=programme, term=term, source=source, dest=dest,
                                        as_of=as_of, by=user())
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False))
    elif case_id is not None:
        click.echo(f"case {case_id}: {trigger} → {dest} on {as_of}")
    else:
        held = ", ".join(f"{g} {n}" + (f" (possible from {result['possible_from'][g]})" if g in result["possible_from"] else "")
                         for g, n in result["held"].items()) or "none"
        click.echo(f"moved {result['moved']} cases {source} → {dest}; held: {held}")


@cases.command("object")
@click.argument("case_id", type=ROW_ID)
@click.option("--reason", required=True, help="The objection (kept in the history).")
@as_of_option
@click.pass_obj
def cases_object(obj, case_id, reason, as_of):
    """Record an objection raised during publicity: the case goes to review (复核)."""
    from aidcal.engine import moves, store
    with store.writing(obj.engine) as conn:
        moves.object_to(conn, case_id, reason, as_of or today(), user())
    click.echo(f"case {case_id}: under review")


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
    from aidcal.engine import moves, store
    if upheld is None:
        raise click.UsageError("give --upheld or --dismissed")
    with store.writing(obj.engine) as conn:
        outcome = moves.resolve(conn, case_id, upheld, note, as_of or today(), user(), level)
    click.echo(f"case {case_id}: {outcome}")


@cases.command("record")
@click.argument("case_id", type=ROW_ID, required=False)
@click.option("--file", "sheet", type=click.Path(dir_okay=False),
              help="A sheet: case,callback_outcome,documents,card,cash_approval (documents joined by ;).")
@click.option("--callback-outcome", help="The phone follow-up's outcome (回访结果).")
@click.option("--document", "documents", multiple=True, help="An archive document now on file (repeatable).")
@click.option("--card", type=click.Choice(["bank", "social-security"]), help="Pay to the student's bank or social-security card.")
@click.option("--cash-approval", help="The reference of a recorded approval to pay in cash.")
@click.option("--amount", type=float, help="An amount (yuan, this term) different from the standard; needs --reason.")
@click.option("--reason", help="Why the amount differs from the standard.")
@as_of_option
@click.pass_obj
def cases_record(obj, case_id, sheet, callback_outcome, documents, card, cash_approval, amount, reason, as_of):
    """Record what the guards need: callback outcomes, documents, card type, cash approvals, amount overrides."""
    from aidcal.engine import cases as engine_cases
    from aidcal.engine import store
    as_of = as_of or today()
    if (case_id is None) == (sheet is None):
        raise click.UsageError("give CASE or --file FILE")
    with store.writing(obj.engine) as conn:
        if sheet:
            n = engine_cases.record_sheet(conn, sheet, as_of, user())
        else:
            engine_cases.record(conn, case_id, as_of, user(), callback_outcome=callback_outcome, documents=documents,
                                card=card, cash_approval=cash_approval, amount_yuan=amount, reason=reason)
            n = 1
    click.echo(f"recorded for {n} case(s)")


@cases.command("history")
@click.argument("case_id", type=ROW_ID)
@format_option()
@click.pass_obj
def cases_history(obj, case_id, fmt):
    """Every transition of a case: when, which move, from, to, who, why."""
    from aidcal.engine import cases as engine_cases
    from aidcal.engine import store
    with store.reading(obj.engine) as conn:
        rows = engine_cases.history(conn, case_id)
    render(fmt, f"个案 {case_id} 的流转记录", rows, ["on", "trigger", "from_state", "to_state", "by", "reason"])


@click.group()
def publicity():
    """The publicity list (公示名单)."""


@publicity.command("export")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@_term_option(required=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "docx"]), required=True, help="xlsx, csv (with BOM) or docx.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@as_of_option
@click.pass_obj
def publicity_export(obj, unit, programme, term, fmt, output, as_of):
    """Write the publicity list: name, school, grade, class, programme, level, amount; dates; phone for objections.

    Never an ID number, phone, address or bank card.
    """
    from pathlib import Path

    from aidcal.actions import publicity as docs
    from aidcal.engine import cases as engine_cases
    from aidcal.engine import store
    with store.reading(obj.engine) as conn:
        listing = engine_cases.publicity_list(conn, unit, programme, term)
    docs.export(listing, engine_cases.PUBLICITY_COLUMNS, fmt, Path(output))
    say(f"publicity list of {len(listing['rows'])} students written to {output}")

"""`aidcal workflow …` and `programmes …`: the rules cases follow, stored in the database."""
from __future__ import annotations

import click

from aidcal.i18n import N_, _

from .shell import as_of_option, format_option, say, today, user
from .tables import moment, render


@click.group()
def workflow():
    """Case state machines (workflows/*.yaml): check, load into the database, draw."""


@workflow.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def workflow_check(file):
    """Validate a workflow file: unknown or unreachable states, unknown guards and effects, as file:line errors."""
    from aidcal.engine import workflow as wf
    spec = wf.read(file)
    click.echo(_("{file}: ok: workflow {name}, {states} states, {transitions} transitions").format(
        file=file, name=spec.name, states=len(spec.states), transitions=len(spec.transitions)))


@workflow.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@as_of_option
@click.pass_obj
def workflow_load(obj, file, as_of):
    """Validate FILE and store it as the workflow in force; prints what changed.

    Refused when cases are in a state the file removes.
    """
    from pathlib import Path

    from aidcal.engine import rules
    from aidcal.engine.located import read_text
    text = read_text(file)
    with obj.writing("workflow.load") as conn:
        report = rules.load_workflow(conn, text, Path(file).name, as_of or today(), user())
    _say_loaded(report)


def _say_loaded(report) -> None:
    what = _("programmes") if report.kind == "programmes" else _("workflow {name}").format(name=report.name)
    if not report.changed:
        click.echo(_("{what}: unchanged (version {version} is in force)").format(what=what, version=report.version))
        return
    click.echo(_("{what}: version {version} loaded").format(what=what, version=report.version))
    for line in report.changes:
        click.echo(f"  {line}")


def _say_version(kind: str, name: str, version: dict | None) -> None:
    if version:
        say(_("{what}: version {version} ({file}), loaded {at} by {by}").format(
            what=name if kind == "workflow" else _("programmes"), version=version["version"], file=version["source"],
            at=moment(version["loaded_at"]), by=version["loaded_by"]))


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
        raise InputError(_("--format png needs --output FILE"))
    import importlib.util
    import shutil
    if importlib.util.find_spec("graphviz") is None and importlib.util.find_spec("pygraphviz") is None \
            or shutil.which("dot") is None:
        raise InputError(_("--format png needs graphviz (pip install graphviz; apt-get install graphviz); --format mermaid needs nothing"))
    try:
        with replacing(output) as path:
            spec.graph("graphviz").draw(str(path), prog="dot", format="png")
    except (ImportError, OSError) as exc:
        raise InputError(_("png needs graphviz (pip install graphviz; apt-get install graphviz): {reason}").format(reason=exc)) from None
    say(_("workflow {name} drawn to {file}").format(name=name, file=output))


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

    from aidcal.engine import rules
    from aidcal.engine.located import read_text
    text = read_text(file)
    with obj.writing("programmes.load") as conn:
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
            for level, amount in rate.amounts.items():
                rows.append(dict(programme=p.key, title=p.title, level=progs.level_title(level) if level in progs.LEVELS
                                 else "不分等级" if level == "any" else "无等级（按类别）", amount=amount,
                                 term_from=rate.term_from))
    render(fmt, _("programmes and their standards (yuan a student a year)"), rows, ["programme", "title", "level", "amount", "term_from"],
           {"title": N_("Programme name")})

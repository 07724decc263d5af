"""`aidcal publicity …`: the publicity list (公示名单) as posted, and its taking down."""
from __future__ import annotations

import click

from .shell import as_of_option, say, term_option, today


@click.group()
def publicity():
    """The publicity list (公示名单)."""


@publicity.command("export")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
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


@publicity.command("takedown")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
@as_of_option
@click.pass_obj
def publicity_takedown(obj, unit, programme, term, as_of):
    """Record the day the unit's publicity list was taken down (after its last day); the list then says so."""
    from aidcal.engine import cases as engine_cases
    on = as_of or today()
    with obj.writing("publicity.takedown") as conn:
        n = engine_cases.take_down(conn, unit, programme, term, on)
    click.echo(f"publicity list of {unit} {programme} {term} taken down on {on} ({n} cases)")

"""`aidcal publicity …`: the publicity list (公示名单) as posted, and its taking down."""
from __future__ import annotations

import click

from aidcal.i18n import _

from .shell import as_of_option, say, term_option


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
    posted = obj.call("publicity.export", unit=unit, programme=programme, term=term)
    docs.export(posted["listing"], posted["columns"], fmt, Path(output))
    say(_("publicity list of {n} students written to {file}").format(n=len(posted["listing"]["rows"]), file=output))


@publicity.command("takedown")
@click.option("--unit", required=True, help="The unit (code).")
@click.option("--programme", required=True, help="The programme.")
@term_option(required=True)
@as_of_option
@click.pass_obj
def publicity_takedown(obj, unit, programme, term, as_of):
    """Record the day the unit's publicity list was taken down (after its last day); the list then says so."""
    taken = obj.call("publicity.takedown", unit=unit, programme=programme, term=term, as_of=as_of)
    click.echo(_("publicity list of {unit} {programme} {term} taken down on {day} ({n} cases)").format(
        unit=unit, programme=programme, term=term, day=taken["on"], n=taken["cases"]))

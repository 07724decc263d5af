"""`aidcal identification …`: hardship identification (认定), once a school year, reviewed each term."""
from __future__ import annotations

import click

from aidcal.i18n import N_, _

from .files import sheet_file
from .shell import ROW_ID, YEAR, as_of_option, format_option, working
from .tables import render


@click.group()
def identification():
    """Hardship identification (家庭经济困难学生认定): import a school year's, list, review each term."""


@identification.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", required=True, type=YEAR, help="The school year, named by the autumn it starts in.")
@as_of_option
@click.pass_obj
def identification_import(obj, file, year, as_of):
    """Import a school year's identifications, all or nothing (CSV UTF-8/BOM/GB18030 or XLSX).

    Header: name,id_number,unit,level,categories,pledge,reviewed_on or
    姓名,身份证号,学校代码,困难等级,类别,承诺书,评议日期 (categories joined by |; level may be empty
    where a category suffices; pledge 是/否). Cases of that school year already imported take
    the identification where their level agrees.
    """
    with working(_("importing identifications")):
        result = obj.call("identification.import", sheet=sheet_file(file), year=year, as_of=as_of)
    click.echo(_("identification: {imported} imported for the school year {year}; {linked} cases linked").format(
        imported=result["imported"], year=year, linked=result["linked"]))
    if result["differing"]:
        click.echo(_("{n} cases of these students have a different level in their case sheet: "
                     "withdraw and re-import them with the identified level").format(n=result["differing"]), err=True)


@identification.command("list")
@click.option("--unit", help="Only this unit (code).")
@click.option("--year", type=YEAR, help="Only this school year.")
@format_option()
@click.pass_obj
def identification_list(obj, unit, year, fmt):
    """Identifications with their level, categories and review date; ID numbers masked."""
    listed = obj.call("identification.list", unit=unit, year=year)
    rows = listed["rows"]
    render(fmt, _("hardship identifications: {n} students").format(n=len(rows)), rows, listed["columns"],
           {"id": N_("Identification"), "year": N_("School year"), "categories": N_("Categories"), "reviewed_on": N_("Reviewed on"),
            "pledge": N_("Pledge")})


@identification.command("review")
@click.argument("ident_id", metavar="ID", type=ROW_ID)
@click.option("--level", required=True, help="The level after review (特别困难, 困难, 一般困难, or 无 where a category suffices).")
@click.option("--categories", help="The categories after review, joined by | (default: unchanged).")
@click.option("--reason", required=True, help="What the term's review found (kept).")
@as_of_option
@click.pass_obj
def identification_review(obj, ident_id, level, categories, reason, as_of):
    """Record a term's review: cases not yet posted follow the new level; posted ones keep theirs."""
    result = obj.call("identification.review", id=ident_id, level=level, categories=categories, reason=reason, as_of=as_of)
    level = _("{level} ({categories})").format(level=result["level"], categories="、".join(result["categories"])) \
        if result["categories"] else result["level"]
    click.echo(_("identification {id}: {level}; {following} cases not yet posted follow, {kept} keep theirs").format(
        id=ident_id, level=level, following=result["cases_following"], kept=result["cases_kept"]))

"""The publicity list as posted: XLSX, CSV with a BOM, or DOCX. It carries only
what the engine selected (no ID, phone, address or card), the dates and the
phone number for objections."""
from __future__ import annotations

from pathlib import Path

from .documents import BODY_FONT, SIZES, TITLE_FONT, chinese_date, official_document, set_font
from .exports import replacing, write

HEADERS = {"name": "姓名", "unit_name": "学校", "grade": "年级", "class_name": "班级", "programme": "资助项目",
           "level": "困难等级", "amount": "本学期金额（元）"}
SHOWN_HEADERS = {"level": "困难等级", "tier": "资助档次"}


def notice_text(listing: dict) -> str:
    phones = "；".join(f"{label}：{phone}" for label, phone in listing["phones"] if phone)
    text = f"公示期：{listing['start']} 至 {listing['end']}。如有异议，请在公示期内实名反映，{phones}。"
    return text + (f"本名单于 {listing['taken_down']} 撤下。" if listing.get("taken_down") else "")


def export(listing: dict, columns: list[str], fmt: str, output: Path) -> None:
    shows = listing.get("shows", "level")
    columns = [c for c in columns if c != "level" or shows != "programme"]
    headers = {**HEADERS, "level": SHOWN_HEADERS.get(shows, HEADERS["level"])}
    if fmt in ("csv", "xlsx"):
        footer = {c: "" for c in columns} | {columns[0]: notice_text(listing)}
        write([*listing["rows"], footer], columns, headers, fmt, str(output), title=listing["title"])
        return
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = official_document()
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(heading.add_run(listing["title"]), TITLE_FONT, SIZES["2号"])
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, column in zip(table.rows[0].cells, columns):
        cell.text = headers[column]
    for row in listing["rows"]:
        for cell, column in zip(table.add_row().cells, columns):
            cell.paragraphs[0].text = ""
            set_font(cell.paragraphs[0].add_run(str(row[column])), BODY_FONT, SIZES["5号"])
    doc.add_paragraph(notice_text(listing))
    for text in (listing["unit_name"], chinese_date(listing["start"])):
        doc.add_paragraph(text + "　　　　").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    with replacing(output) as temporary:
        doc.save(temporary)

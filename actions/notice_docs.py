"""A notice as a document a supervisor prints: Markdown, or DOCX via python-docx.
Rendered at export time from what the engine recorded; nothing is decided here."""
from __future__ import annotations

from pathlib import Path

from .documents import chinese_document, markdown_text
from .exports import replacing

HEAD = ["学校代码", "学校名称", "乡镇", "逾期工作", "期次", "截止日期", "整改期限"]


def _title(notice: dict, authority_name: str) -> str:
    return f"{authority_name}关于学生资助工作滞后单位的通报"


def _rows(notice: dict) -> list[list[str]]:
    return [[x["unit"], x["unit_name"], x["town"], x["title"], x["period"], x["due"], x["rectify_by"] or "签发后确定"]
            for x in notice["items"]]


def _intro(notice: dict) -> str:
    units = len({x["unit"] for x in notice["items"]})
    return (f"经查，截至 {notice['drafted_on']}，以下 {units} 个单位未按时间节点完成学生资助月度工作任务。"
            "现予以通报，请相关单位高度重视，于整改期限前完成整改并上传佐证材料。逾期未整改的，将约谈单位负责人并在年度考核中扣分。")


def _number(notice: dict) -> str:
    return f"编号：{notice['number']}　签发日期：{notice['issued_on']}　签发人：{notice['signed_by']}" \
        if notice["number"] else "（草稿，未签发）"


def write_markdown(notice: dict, authority_name: str, path: Path) -> None:
    lines = [f"# {markdown_text(_title(notice, authority_name))}", "", _number(notice), "", _intro(notice), "",
             "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in _rows(notice)]
    lines += ["", f"{authority_name}", f"{notice['issued_on'] or notice['drafted_on']}", ""]
    with replacing(path) as temporary:
        temporary.write_text("\n".join(lines), encoding="utf-8")


def write_docx(notice: dict, authority_name: str, path: Path) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = chinese_document()
    heading = doc.add_heading(_title(notice, authority_name), level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(_number(notice)).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(_intro(notice))
    table = doc.add_table(rows=1, cols=len(HEAD))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, HEAD):
        cell.text = text
    for row in _rows(notice):
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text
    for text in (authority_name, notice["issued_on"] or notice["drafted_on"]):
        doc.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    with replacing(path) as temporary:
        doc.save(temporary)

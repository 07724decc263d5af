"""Notices as 公文 (GB/T 9704-2012, 党政机关公文格式): A4 with the standard's margins, the red
masthead and document number from calendar.yaml, the title in 2号 方正小标宋简体, the body in
3号 仿宋_GB2312, dates written 2021年1月26日, the late work as a table or, when long, as an
attachment, page numbers "— 1 —" in 4号 (odd pages right, even left); printed through
LibreOffice where it is installed."""
import json
import shutil
import subprocess

import pytest

from helpers import ROOT


def issued(county, as_of="2021-01-25", signed="2021-01-26"):
    notice = next(s["notice"] for s in json.loads(county("escalate", "--as-of", as_of, "--format", "json").stdout)
                  if s["notice"])
    county("notices", "sign", notice, "--by", "张局长", "--as-of", signed)
    return notice


def paragraphs(doc):
    return [p for p in doc.paragraphs if p.text.strip()]


def east_asian_font(run):
    from docx.oxml.ns import qn
    return run.element.rPr.rFonts.get(qn("w:eastAsia"))


def test_a_notice_exports_as_a_gbt_9704_document(county, tmp_path):
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt
    notice = issued(county)
    county("notices", "export", notice, "--format", "docx", "--output", tmp_path / "n.docx")
    doc = Document(tmp_path / "n.docx")
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)] \
        == [37, 35, 28, 26]
    masthead, number, title, addressee, *body = paragraphs(doc)
    assert masthead.text == "濉溪县教育局文件" and str(masthead.runs[0].font.color.rgb) == "E60012"  # red
    assert east_asian_font(masthead.runs[0]) == "方正小标宋简体"
    assert number.text == "教助〔2021〕1号" and "E60012" in number._p.xml  # the red line beneath it
    assert title.text == "濉溪县教育局关于\n学生资助工作滞后单位的通报"  # broken after 关于, never one character alone
    assert title.runs[0].font.size == Pt(22) and east_asian_font(title.runs[0]) == "方正小标宋简体"  # 2号
    assert addressee.text == "各中心学校，局属各学校、幼儿园："
    assert body[0].text.startswith("经查，截至2021年1月25日，") and body[0].runs[0].font.size == Pt(16)  # 3号
    assert east_asian_font(body[0].runs[0]) == "仿宋_GB2312"
    assert [p.text.strip() for p in body[-2:]] == ["濉溪县教育局", "2021年1月26日"]
    assert body[-1].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    table = doc.tables[0]
    assert round(sum(c.width.mm for c in table.columns)) == 156  # the text block: 210 − 28 − 26
    assert "S001" in [c.text for r in table.rows for c in r.cells]
    assert doc.settings.odd_and_even_pages_header_footer
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    assert (odd.alignment, even.alignment) == (WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.LEFT)
    assert odd.text == "—  —" and "PAGE" in odd._p.xml and odd.runs[0].font.size == Pt(14)  # — N — in 4号
    md = county("notices", "export", notice, "--format", "md", "--output", tmp_path / "n.md")
    assert md.exit_code == 0
    text = (tmp_path / "n.md").read_text(encoding="utf-8")
    for expected in ("濉溪县教育局文件", "教助〔2021〕1号", "各中心学校，局属各学校、幼儿园：", "2021年1月26日", "| S001 |"):
        assert expected in text
    shown = json.loads(county("notices", "show", notice, "--format", "json").stdout)[0]
    assert shown["number"] == "2021-1"  # the internal key and JSON value stay YYYY-N


def test_a_long_notice_puts_the_late_work_in_an_attachment(aidcal, calendar_file, tmp_path):
    from docx import Document
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    aidcal("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    notice = issued(aidcal)
    aidcal("notices", "export", notice, "--format", "docx", "--output", tmp_path / "n.docx")
    doc = Document(tmp_path / "n.docx")
    texts = [p.text.strip() for p in paragraphs(doc)]
    assert "附件：学生资助工作滞后单位名单" in texts and "附件" in texts
    assert texts.index("附件：学生资助工作滞后单位名单") < texts.index("濉溪县教育局") < texts.index("附件")
    assert len(doc.tables) == 1 and len(doc.tables[0].rows) > 200
    rows = doc.tables[0].rows
    assert "w:tblHeader" in rows[0]._tr.xml and all("w:cantSplit" in r._tr.xml for r in rows[:5])  # header on every page
    assert any("于2021年2月2日前完成整改" in t for t in texts)  # the deadline itself, when the items share it


def test_a_plan_without_a_number_format_numbers_as_the_standard_does(county, tmp_path):
    plan = (tmp_path / "calendar.yaml")
    text = plan.read_text(encoding="utf-8")
    start = text.index("  number_format:")
    plan.write_text(text[:start] + text[text.index("\n", text.index("addressee:")) + 1:], encoding="utf-8")
    county("calendar", "load", plan, "--as-of", "2021-01-02")
    notice = issued(county)
    county("notices", "export", notice, "--format", "md", "--output", tmp_path / "n.md")
    md = (tmp_path / "n.md").read_text(encoding="utf-8")
    assert "〔2021〕1号" in md and "濉溪县教育局文件" in md and "各学校、幼儿园：" in md


def test_a_number_format_without_its_number_is_refused_by_line(offline, calendar_file):
    bad = calendar_file.read_text(encoding="utf-8").replace('"教助〔{year}〕{n}号"', '"教助〔{year}〕{x}号"')
    result = offline("calendar", "check", offline.file("plan.yaml", bad), ok=False)
    assert result.exit_code == 2 and "notices: number_format must hold {n}" in result.stderr
    assert result.stderr.startswith("error: plan.yaml:") or "plan.yaml:" in result.stderr


LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(LIBREOFFICE is None or shutil.which("pdfinfo") is None,
                    reason="LibreOffice and poppler-utils are not installed (apt-get install libreoffice-writer-nogui poppler-utils)")
def test_a_notice_prints_through_libreoffice_as_one_a4_document(county, tmp_path):
    notice = issued(county)
    county("notices", "export", notice, "--format", "docx", "--output", tmp_path / "n.docx")
    subprocess.run([LIBREOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "n.docx")],
                   check=True, capture_output=True, timeout=180, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    info = subprocess.run(["pdfinfo", str(tmp_path / "n.pdf")], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages == 2  # the head, the body and the table of a few late units, then the signature page
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "n.pdf"), "-"], capture_output=True,
                           text=True, check=True).stdout.replace(" ", "")
    assert "教助〔2021〕1号" in first and "濉溪县教育局文件" in first and "—1—" in first

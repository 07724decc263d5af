"""Tables as a county officer reads them in a terminal of 80 or 120 columns: the names stay
(school, task title) and codes and dates go first; Chinese wraps by character, never at the
ASCII space inside a title; every line of a table has the same display width. Titles and
headers follow the language; notices read by their 发文字号; moments to the minute."""
import json
import re

import pytest
from rich.cells import cell_len

from helpers import ROOT

CHINESE = {"AIDCAL_LANG": ""}  # unpinned: the default


@pytest.fixture
def whole_county(aidcal, calendar_file):
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    aidcal("units", "import", ROOT / "examples" / "units.csv", "--as-of", "2021-01-01")
    return aidcal


def tables(text):
    """The frames of each table: lines from ┏ to └."""
    frames, current = [], None
    for line in text.splitlines():
        if line.startswith("┏"):
            current = []
        if current is not None:
            current.append(line)
        if line.startswith("└") and current is not None:
            frames.append(current)
            current = None
    return frames


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_and_keep_the_names(whole_county, width):
    env = {"COLUMNS": str(width), **CHINESE}
    for args in (["overdue", "--as-of", "2021-07-15", "--unit", "3406200001"],
                 ["tasks", "list", "--unit", "3406200001", "--month", "5", "--as-of", "2021-07-15"],
                 ["units", "list", "--town", "濉溪镇"]):
        out = whole_county(*args, env=env).stdout
        frames = tables(out)
        assert frames, out
        for frame in frames:
            widths = {cell_len(line) for line in frame}
            assert len(widths) == 1 and widths.pop() <= width, "\n".join(frame)  # exact alignment, within the terminal
        assert "濉溪镇中心学校" in out or any("每月20日前更新维护学生资助管理" in column(frame, "任务内容")
                                               for frame in frames)
    listed = whole_county("tasks", "list", "--unit", "3406200001", "--month", "5", "--as-of", "2021-07-15", env=env).stdout
    body = [line for frame in tables(listed) for line in frame]
    assert not any(line.rstrip("│ ").endswith("每月") for line in body)  # never broken at the space of 每月 20 日
    header = tables(listed)[0][1]
    assert "期次" in header and "任务 " in header  # what a school types into tasks done, at any width
    if width == 80:
        assert "窄屏未显示" in listed  # says what it left out
    else:
        assert "截止日期" in listed and "任务内容" in listed


def column(frame, header):
    """One column's text read down the frame, its folded cells joined again."""
    names = [name.strip() for name in frame[1].strip("┃").split("┃")]
    if header not in names:
        return ""
    k = names.index(header)
    return "".join(line.strip("│").split("│")[k].strip() for line in frame[3:-1] if line.startswith("│"))


def test_limit_zero_prints_no_empty_table(whole_county):
    out = whole_county("overdue", "--as-of", "2021-07-15", "--limit", "0", env=CHINESE).stdout
    assert "显示逾期最多的 0 组" in out and "逾期最久的 0 项" in out and "┏" not in out  # titles, never an empty frame
    assert "（无）" not in out  # none asked for is not none there


def test_the_audit_log_keeps_its_moments_on_a_narrow_terminal(whole_county):
    whole_county("tasks", "done", "--unit", "3406200001", "system-update", "--period", "2021-05", "--as-of", "2021-05-19")
    narrow = whole_county("audit", "show", env={"COLUMNS": "80", **CHINESE}).stdout
    frame = tables(narrow)[0]
    assert {cell_len(line) for line in frame} == {80} and "记录时间" in frame[1] and "3406200001" in column(frame, "对象")
    assert "窄屏未显示：写入行数、摘要" in narrow
    wide = whole_county("audit", "show", env={"COLUMNS": "160", **CHINESE}).stdout
    assert "task=system-update period=2021-05" in column(tables(wide)[0], "摘要")


def frame_text(out):
    """A table's cells as one string: folded names read whole again."""
    return "".join(line for frame in tables(out) for line in frame).replace("│", "").replace("┃", "").replace(" ", "")


@pytest.mark.parametrize("width", [80, 120])
def test_overdue_names_the_work_and_a_notice_reads_by_its_document_number(whole_county, width):
    env = {"COLUMNS": str(width), **CHINESE}
    overdue = whole_county("overdue", "--as-of", "2021-07-15", "--unit", "3406200001", env=env).stdout
    assert "更新维护学生资助管理" in frame_text(overdue)  # the task's title, not only its key
    whole_county("escalate", "--as-of", "2021-01-26")
    notice = json.loads(whole_county("notices", "list", "--format", "json").stdout)[0]
    whole_county("notices", "sign", notice["id"], "--by", "局长", "--as-of", "2021-01-27")
    listed = whole_county("notices", "list", env=env).stdout
    assert "教助〔2021〕1号" in frame_text(listed) and "发文字号" in listed and "2021-1" not in frame_text(listed)
    for frame in tables(listed):
        assert len({cell_len(line) for line in frame}) == 1 and cell_len(frame[0]) <= width
    assert json.loads(whole_county("notices", "list", "--format", "json", env=env).stdout)[0]["number"] == "2021-1"
    shown = whole_county("notices", "show", notice["id"], "--as-of", "2021-01-27", env=env).stdout
    assert shown.startswith("通报 教助〔2021〕1号，2021-01-26 起草，2021-01-27 签发（局长）")


def test_headers_and_titles_follow_the_language_and_moments_read_to_the_minute(whole_county):
    args = ("tasks", "list", "--unit", "3406200001", "--month", "5", "--as-of", "2021-07-15")
    english = whole_county("--lang", "en", *args, env={"COLUMNS": "120", **CHINESE}).stdout
    assert english.startswith("tasks of 3406200001 (as of 2021-07-15)") and "Due" in english and "Work" in english
    assert "截止日期" not in english and "overdue" in english
    chinese = whole_county(*args, env={"COLUMNS": "120", **CHINESE}).stdout
    assert chinese.startswith("3406200001 的任务（截至 2021-07-15）") and "截止日期" in chinese and "已逾期" in chinese
    whole_county("escalate", "--as-of", "2021-01-26")
    runs = whole_county("runs", "list", env={"COLUMNS": "160", **CHINESE}).stdout
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} ", runs) and "T" not in frame_text(runs) and "+08:00" not in runs
    assert json.loads(whole_county("runs", "list", "--format", "json").stdout)[0]["started"].endswith("+08:00")


def test_free_text_is_shown_as_written_while_titles_wrap_by_character(whole_county):
    """A school's reason keeps the spaces it was typed with; only titles lose the space before a number."""
    day = ["--unit", "3406200001", "system-update", "--period", "2021-05"]
    whole_county("tasks", "done", *day, "--as-of", "2021-05-19")
    whole_county("tasks", "reopen", *day, "--reason", "第 2 次 上报有误", "--as-of", "2021-05-20")
    shown = whole_county("tasks", "history", *day, env={"COLUMNS": "160", **CHINESE}).stdout
    assert "第 2 次 上报有误" in shown

"""Tables as a county officer reads them in a terminal of 80 or 120 columns: the names stay
(school, task title) and codes and dates go first; Chinese wraps by character, never at the
ASCII space inside a title; every line of a table has the same display width."""
import pytest
from rich.cells import cell_len

from helpers import ROOT


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
    env = {"COLUMNS": str(width)}
    for args in (["overdue", "--as-of", "2021-07-15", "--unit", "3406200001"],
                 ["tasks", "list", "--unit", "3406200001", "--month", "5", "--as-of", "2021-07-15"],
                 ["units", "list", "--town", "濉溪镇"]):
        out = whole_county(*args, env=env).stdout
        frames = tables(out)
        assert frames, out
        for frame in frames:
            widths = {cell_len(line) for line in frame}
            assert len(widths) == 1 and widths.pop() <= width, "\n".join(frame)  # exact alignment, within the terminal
        assert "濉溪镇中心学校" in out or "每月20日前更新维护学生资助管理" in out.replace("│", "").replace(" ", "").replace("\n", "")
    listed = whole_county("tasks", "list", "--unit", "3406200001", "--month", "5", "--as-of", "2021-07-15", env=env).stdout
    body = [line for frame in tables(listed) for line in frame]
    assert not any(line.rstrip("│ ").endswith("每月") for line in body)  # never broken at the space of 每月 20 日
    if width == 80:
        assert "窄屏未显示" in listed  # says what it left out
    else:
        assert "截止日期" in listed and "任务内容" in listed


def test_limit_zero_prints_no_empty_table(whole_county):
    out = whole_county("overdue", "--as-of", "2021-07-15", "--limit", "0").stdout
    assert "显示逾期最多的 0 组" in out and "逾期最久的 0 项" in out and "┏" not in out  # titles, never an empty frame

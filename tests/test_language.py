"""Chinese by default, English on request: help, errors and table words in zh_CN unless
--lang en or AIDCAL_LANG=en; the locale is ignored; JSON never changes with the language;
every text in the catalog has its Chinese, placeholders kept."""
import importlib.util
import re

from helpers import ROOT

CHINESE = {"AIDCAL_LANG": ""}  # unpinned: the default


def tool():
    spec = importlib.util.spec_from_file_location("messages", ROOT / "tools" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_text_has_its_chinese_and_keeps_its_placeholders():
    messages = tool()
    catalog = messages.merged()
    assert not messages.untranslated(catalog), f"no Chinese for: {messages.untranslated(catalog)[:10]}"
    marks = re.compile(r"\{[^}]*\}|%\(\w+\)s|%[sd]")
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert sorted(marks.findall(message.id)) == sorted(marks.findall(message.string)), message.id


def test_the_compiled_catalog_is_the_one_shipped():
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    messages = tool()
    with open(messages.PO, "rb") as f:
        catalog = read_po(f, locale="zh_CN")
    compiled = BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == messages.MO.read_bytes(), "run: make messages"


def test_help_and_errors_are_chinese_by_default_and_english_on_request(offline):
    assert "显示此帮助并退出" in offline("tasks", "--help", env=CHINESE).stdout
    assert "Show this message and exit." in offline("tasks", "--help", env={"AIDCAL_LANG": "en"}).stdout
    assert "Show this message and exit." in offline("--lang", "en", "tasks", "--help", env=CHINESE).stdout
    assert "显示此帮助并退出" in offline("tasks", "--help", env={"AIDCAL_LANG": "", "LANG": "en_US.UTF-8"}).stdout
    refused = offline("calendar", "check", ROOT / "no-such.yaml", ok=False, env=CHINESE)
    assert refused.stderr.startswith("错误：")
    assert offline("calendar", "check", ROOT / "no-such.yaml", ok=False).stderr.startswith("error: ")


def test_json_is_the_same_in_both_languages_and_tables_speak_chinese(county):
    args = ("tasks", "list", "--unit", "S001", "--month", "1", "--as-of", "2021-02-15")
    chinese = county(*args, "--format", "json", env=CHINESE).stdout
    english = county("--lang", "en", *args, "--format", "json", env=CHINESE).stdout
    assert chinese == english and '"status": "overdue"' in chinese
    table = county(*args, env=CHINESE).stdout
    assert "已逾期" in table and "overdue" not in table
    assert "overdue" in county(*args).stdout


def test_a_bad_case_row_is_reported_in_the_official_shape(county):
    from helpers import CASE_HEADER
    bad = county.file("c.csv", f"{CASE_HEADER}\n学生0,130402198207290622,13900000000,S002,高二,1班,困难,,是\n")
    result = county("cases", "import", bad, "--programme", "senior-grant", "--term", "2021-autumn", ok=False, env=CHINESE)
    assert "错误：c.csv：第 2 行：身份证号 130402********0622 校验位不对（GB 11643）" in result.stderr


def test_a_plan_file_error_is_chinese_by_default_and_keeps_its_file_and_line(offline):
    plan = offline.file("plan.yaml", 'version: 1\nauthority: {code: "340621", name: 濉溪县教育局}\nyear: 2021\ntasks:\n'
                                     "  - key: spring-payout\n    title: 发放\n    who: all\n    due: 02-30\n")
    chinese = offline("calendar", "check", plan, ok=False, env=CHINESE).stderr
    assert chinese == "错误：plan.yaml:8：任务 spring-payout：due“02-30”不是 2021 年的日期\n"
    english = offline("calendar", "check", plan, ok=False).stderr
    assert english == "error: plan.yaml:8: task spring-payout: due '02-30' is not a date in 2021\n"


def test_a_sheet_names_its_column_as_its_chinese_header_does(county):
    """One key, two words: `name` is 学校名称 in a roster and 姓名 in a case file."""
    from helpers import HEADER_EN
    roster = county.file("u.csv", f"{HEADER_EN}\nS9,学\x00校,小学,镇,,王,13912345678,\n,学校,小学,镇,,王,1391234567,\n")
    chinese = county("units", "import", roster, "--as-of", "2021-01-01", ok=False, env=CHINESE).stderr.splitlines()
    assert chinese[:2] == ["错误：u.csv：第 2 行：学校名称含有控制字符（只有备注可以换行）", "错误：u.csv：第 3 行：学校代码为空"]
    assert "错误：u.csv：第 3 行：联系电话 ********67 不是手机号码（11位）或固定电话（如 0561-6012345）" in chinese
    english = county("units", "import", roster, "--as-of", "2021-01-01", ok=False).stderr.splitlines()
    assert english[:2] == ["error: u.csv: row 2: name contains a control character (a line break is allowed only in notes)",
                           "error: u.csv: row 3: code is empty"]


def test_every_help_fits_80_columns_in_chinese_and_no_line_starts_with_a_closing_mark(offline):
    """click wraps by len() at spaces; Chinese takes two columns a character and has no spaces."""
    from rich.cells import cell_len

    import aidcal.cli as aidcal_cli

    def paths(command, path):
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from paths(sub, [*path, name])

    for path in paths(aidcal_cli.cli, []):
        text = offline(*path, "--help", env={**CHINESE, "COLUMNS": "80"}).stdout
        assert "[required]" not in text and "Usage" not in text and "Options:" not in text, path
        for line in text.splitlines():
            assert cell_len(line) <= 80, (path, line)
            assert line.strip()[:1] not in set("，。、；：？！）》」』】〕"), (path, line)
    done = offline("tasks", "done", "--help", env={**CHINESE, "COLUMNS": "80"}).stdout
    assert done.startswith("用法：cli tasks done [OPTIONS] TASK") and "选项：" in done and "学校代码。（必填）" in done
    english = offline("tasks", "done", "--help", env={"COLUMNS": "80"}).stdout
    assert english.startswith("Usage: cli tasks done") and "The unit's code.  [required]" in english


def test_clicks_usage_errors_end_in_chinese_punctuation(offline):
    assert offline("tasks", "lis", ok=False, env=CHINESE).stderr == "错误：不存在命令 'lis'。（您是否想输入：'list'？）（参见：cli tasks --help）\n"
    assert offline("tasks", "done", "x", ok=False, env=CHINESE).stderr.startswith("错误：缺少选项 '--unit'。（参见：")
    assert offline("tasks", "lis", ok=False).stderr.startswith("error: No such command 'lis'. Did you mean 'list'?")

"""Delivery through real local servers: an SMTP server that is down for a day,
robots that refuse with HTTP 200 and a non-zero errcode, digests, superseding."""
import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aidcal.actions.deliver import send
from aidcal.engine import channels, delivery
from helpers import HEADER_EN


def deliver(engine, config, now, clock=time.monotonic, sleep=time.sleep):
    return delivery.deliver(engine, config, now, send, clock, sleep)



def soon() -> datetime:
    """Delivery runs on wall time: a minute after the runs a test has just made."""
    return datetime.now(UTC) + timedelta(minutes=1)
ROSTER = f"""{HEADER_EN},email
S001,濉溪镇中心学校,小学|初中,濉溪镇,,王伟,13912345678,,s001@example.cn
S002,濉溪中学,高中,县直,,李芳,0561-6012345,,s002@example.cn
K001,濉溪镇中心幼儿园,幼儿园,濉溪镇,S001,刘静,13812345670,,
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailed(aidcal, calendar_file):
    aidcal("calendar", "load", calendar_file, "--as-of", "2021-01-01")
    aidcal("units", "import", aidcal.file("u.csv", ROSTER), "--as-of", "2021-01-01")
    port = free_port()
    notify = aidcal.file("notify.yaml", f"channels:\n  - name: unit-mail\n    kind: email\n    smtp_host: 127.0.0.1\n"
                                        f"    smtp_port: {port}\n    sender: 资助中心 <zizhu@example.cn>\n")
    aidcal("--notify", notify, "escalate", "--as-of", "2021-02-01")
    return aidcal, channels.read(notify), port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_smtp_down_for_a_day_then_every_message_arrives_once(mailed):
    NOW = soon()
    from aiosmtpd.controller import Controller
    aidcal, config, port = mailed
    engine = aidcal.engine()
    assert aidcal.scalar("SELECT count(*) FROM outbox") == 2  # K001 has no email: no digest for it
    report = deliver(engine, config, now=NOW)  # nobody listens on the port
    assert report.sent == 0 and report.failed == 2
    later = NOW
    for hour in range(24):  # a day of retries, backoff capped at an hour
        later = NOW + timedelta(hours=hour, minutes=30)
        deliver(engine, config, now=later)
    assert aidcal.scalar("SELECT count(*) FROM outbox WHERE status = 'failed'") == 2
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = deliver(engine, config, now=later + timedelta(hours=1))
        again = deliver(engine, config, now=later + timedelta(hours=2))
    finally:
        controller.stop()
    assert report.sent == 2 and again.sent == 0
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == ["s001@example.cn", "s002@example.cn"]
    body = inbox.messages[0].content.decode()
    assert "Message-ID: <aidcal." in body
    assert aidcal.scalar("SELECT count(*) FROM outbox WHERE status = 'sent'") == 2


def test_a_message_whose_work_was_completed_is_superseded_not_sent(mailed):
    NOW = soon()
    aidcal, config, _ = mailed
    for key, period in [("system-update", "2021-01"), ("monthly-report", "2021-01")]:
        aidcal("tasks", "done", "--unit", "S002", key, "--period", period, "--evidence", aidcal.file("e.pdf", "x"),
               "--as-of", "2021-02-01")
    report = deliver(aidcal.engine(), config, now=NOW)
    assert report.superseded == 1
    assert aidcal.scalar("SELECT status FROM outbox WHERE recipient = 'S002'") == "superseded"


class Robot(BaseHTTPRequestHandler):
    answers: list = []
    received: list = []

    def do_POST(self):
        Robot.received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        body = json.dumps(Robot.answers.pop(0) if Robot.answers else {"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def robot():
    server = HTTPServer(("127.0.0.1", 0), Robot)
    Robot.answers, Robot.received = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_robot_refusing_with_http_200_is_a_failure_then_a_digest_goes_out(county, robot):
    NOW = soon()
    notify = county.file("notify.yaml", f"channels:\n  - name: ding\n    kind: dingtalk\n    url: {robot}/robot/send?access_token=t\n"
                                        f"    secret_env: AIDCAL_DINGTALK_SECRET\n    keyword: 资助\n")
    county("--notify", notify, "escalate", "--as-of", "2021-02-01")
    config = channels.read(notify, {"AIDCAL_DINGTALK_SECRET": "SECabc"})  # the shell passes the environment
    Robot.answers = [{"errcode": 310000, "errmsg": "sign not match"}]
    report = deliver(county.engine(), config, now=NOW)
    assert report.failed == 1 and "errcode 310000" in report.errors[0]
    report = deliver(county.engine(), config, now=NOW + timedelta(minutes=5))
    assert report.sent == 1
    path, payload = Robot.received[-1]
    assert "&timestamp=" in path and "&sign=" in path
    text = payload["markdown"]["text"]
    assert "资助" in text and "濉溪镇中心学校" in text  # the keyword the robot requires
    assert "消息编号：<aidcal." in text
    assert "13912345678" not in text  # personal numbers never leave in full


def test_robots_get_at_most_per_minute_messages(county, robot):
    NOW = soon()
    notify = county.file("notify.yaml", f"channels:\n  - name: wx\n    kind: wecom\n    url: {robot}/send?key=k\n    per_minute: 20\n")
    for day in ("2021-01-21", "2021-01-25", "2021-01-29"):
        county("--notify", notify, "escalate", "--as-of", day)
    waits, now = [], [100.0]
    deliver(county.engine(), channels.read(notify), now=NOW, clock=lambda: now[0],
            sleep=lambda s: (waits.append(s), now.__setitem__(0, now[0] + s)))
    assert len(Robot.received) == 3 and waits == [pytest.approx(3.0), pytest.approx(3.0)]


def test_notify_file_errors_name_file_and_line(offline):
    bad = offline.file("notify.yaml", "channels:\n  - name: a\n    kind: wecom\n    urll: x\n")
    result = offline("--notify", bad, "escalate", "--as-of", "2021-02-01", ok=False)  # refused before the database is opened
    assert result.exit_code == 2
    assert "notify.yaml:4: channel a: unknown key 'urll'" in result.stderr
    assert "notify.yaml:2: channel a: url is required" in result.stderr


def test_outbox_list_shows_status(mailed):
    aidcal, config, _ = mailed
    rows = json.loads(aidcal("outbox", "list", "--status", "pending", "--format", "json").stdout)
    assert {r["recipient"] for r in rows} == {"S001", "S002"} and all(r["msgid"].startswith("<aidcal.") for r in rows)
    table = aidcal("outbox", "list").stdout
    assert "outbox: 2 messages" in table and "S001" in table and "pending" in table
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} ", table) and "+08:00" not in table  # the next attempt, to the minute


def test_a_template_whose_format_cannot_apply_is_refused_at_load(offline):
    bad = offline.file("notify.yaml", "templates:\n  line: '{due:%m月%d日}'\n")
    result = offline("--notify", bad, "escalate", "--as-of", "2021-02-01", ok=False)
    assert result.exit_code == 2 and "notify.yaml:2: templates: line: cannot be filled in" in result.stderr


def test_a_template_naming_an_unknown_field_is_refused_at_load_by_file_and_line(offline):
    bad = offline.file("notify.yaml", "templates:\n  subject: '{school} 的提醒'\n  line: '{title}（{period}）'\n")
    result = offline("--notify", bad, "escalate", "--as-of", "2021-02-01", ok=False)
    assert result.exit_code == 2
    assert "notify.yaml:2: templates: subject: unknown field {school} (allowed: recipient, count, as_of)" in result.stderr


def test_a_digest_too_big_for_a_robot_goes_out_in_parts(robot):
    from types import SimpleNamespace

    from aidcal.actions.deliver import LIMITS, parts
    lines = [f"催办提醒｜第{k}学校｜每月 20 日前更新维护学生资助管理及建档立卡信息系统数据（2021-01）" for k in range(300)]
    bodies = parts(lines, "消息编号：<aidcal.1.wx.*@aidcal>", LIMITS["wecom"])
    assert len(bodies) > 1 and all(len(b.encode()) <= 4096 for b in bodies)
    assert sum(b.count("催办提醒") for b in bodies) == 300 and all(b.endswith("@aidcal>") for b in bodies)
    channel = SimpleNamespace(kind="wecom", settings={"url": f"{robot}/send?key=k"}, channel=SimpleNamespace(per_unit=False))
    message = SimpleNamespace(recipient="*", as_of="2021-01-21", msgid="<aidcal.1.wx.*@aidcal>")
    items = [dict(unit=f"S{k}", unit_name=f"第{k}学校", town=f"{k % 3}镇", email="", contact="", task="t", title="x" * 40,
                  period="2021-01", due="2021-01-20", rung="reminder", rung_title="催办提醒") for k in range(300)]
    send(channel, channels.DEFAULT_TEMPLATES, message, items[:80], datetime.now(UTC))
    contents = [payload["markdown"]["content"] for _, payload in Robot.received]
    assert 1 < len(contents) <= 5 and all(len(c.encode()) <= 4096 for c in contents)
    assert f"（1/{len(contents)}）" in contents[0] and sum(c.count("催办提醒｜") for c in contents) == 80
    Robot.received.clear()
    send(channel, channels.DEFAULT_TEMPLATES, message, items, datetime.now(UTC))  # more than five parts: counts instead
    (_, payload), = Robot.received
    assert "共 300 项、300 个单位：催办提醒 300 项" in payload["markdown"]["content"] and "0镇：100 项" in payload["markdown"]["content"]


def test_two_deliveries_at_once_never_send_a_message_twice(mailed):
    from aiosmtpd.controller import Controller
    aidcal, config, port = mailed
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        NOW, reports = soon(), []
        threads = [threading.Thread(target=lambda: reports.append(deliver(aidcal.engine(), config, now=NOW)))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        controller.stop()
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == ["s001@example.cn", "s002@example.cn"]
    assert sum(r.sent for r in reports) == 2
    assert all("Date: " in m.content.decode() for m in inbox.messages)  # e-mail carries its date


def test_outbox_deliver_exits_1_when_a_message_failed(mailed):
    aidcal, config, port = mailed  # nobody listens on the port
    notify = aidcal.workdir / "notify.yaml"
    result = aidcal("--notify", notify, "outbox", "deliver", ok=False)
    assert result.exit_code == 1 and "2 failed (will retry)" in result.stdout


def test_runs_list_counts_the_messages_that_are_failing(mailed):
    aidcal, config, _ = mailed
    deliver(aidcal.engine(), config, now=soon())  # nobody listens: both fail, to be retried
    runs = json.loads(aidcal("runs", "list", "--format", "json").stdout)
    assert runs[0]["failed_messages"] == 2
    assert "Failed messages" in aidcal("runs", "list").stdout


def test_a_failed_nightly_run_alerts_the_bureaus_own_channel(county, robot):
    from sqlalchemy import text

    from aidcal.engine import store
    notify = county.file("notify.yaml", f"channels:\n  - name: bureau\n    kind: wecom\n    url: {robot}/send?key=k\n"
                                        "alerts: bureau\n")
    with store.writing(county.engine()) as conn:  # a plan damaged by hand: the run cannot read its ladder
        conn.execute(text("UPDATE task SET ladder = 'not json' WHERE key = 'system-update'"))
    failed = subprocess.run([sys.executable, "-m", "aidcal.cli", "--db", county.url, "--notify", str(notify), "escalate",
                             "--as-of", "2021-01-26"], capture_output=True, text=True, timeout=120)  # as a user runs it
    assert failed.returncode == 1 and failed.stderr.startswith("error: ") and "Traceback" not in failed.stderr
    runs = json.loads(county("runs", "list", "--format", "json").stdout)
    assert runs[0]["outcome"] == "error" and "JSONDecodeError" in runs[0]["error"]
    report = deliver(county.engine(), channels.read(notify), now=soon())
    assert report.sent == 1
    content = Robot.received[-1][1]["markdown"]["content"]
    assert "夜间督办运行失败" in content and "2021-01-26" in content


def test_alerts_must_name_a_group_channel_of_the_file(offline):
    bad = offline.file("notify.yaml", "channels:\n  - name: mail\n    kind: email\n    smtp_host: h\n    sender: a@b.cn\n"
                                      "alerts: mail\n")
    result = offline("--notify", bad, "escalate", "--as-of", "2021-02-01", ok=False)
    assert result.exit_code == 2 and "notify.yaml:6: alerts: 'mail' must name a group robot channel" in result.stderr

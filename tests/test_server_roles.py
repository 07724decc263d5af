"""The bureau's server as schools, supervisors and auditors meet it: a real `aidcal serve`
process on a loopback port, the CLI pointed at it, each role able to do its own work and
refused the rest, every refusal in the audit log, and outputs identical to local ones."""
import http.client
import json
import os
import stat
import subprocess
import urllib.request

import pytest
from click.testing import CliRunner

from aidcal import cli as aidcal_cli
from helpers import AIDCAL, Server, refused, remote


@pytest.fixture
def served(county, tmp_path):
    """The county with a user of each role, and its server running."""
    tokens = {}
    for name, role, scope in [("sup", "supervisor", "340621"), ("s1", "unit", "S001"), ("s2", "unit", "S002"),
                              ("aud", "auditor", "340621"), ("elsewhere", "supervisor", "340622")]:
        tokens[name] = county("users", "add", name, "--role", role, "--scope", scope).stdout.strip()
    server = Server(county.url, tmp_path)
    yield county, server, tokens
    server.stop()


def test_a_school_sees_and_does_its_own_work_exactly_as_locally(served):
    county, server, tokens = served
    for fmt in ("json", "table"):
        local = county("tasks", "list", "--unit", "S001", "--as-of", "2021-03-01", "--format", fmt).stdout
        assert remote(server, tokens["s1"], "tasks", "list", "--unit", "S001", "--as-of", "2021-03-01",
                      "--format", fmt).stdout == local
    done = remote(server, tokens["s1"], "tasks", "done", "--unit", "S001", "system-update", "--period", "2021-01",
                  "--as-of", "2021-01-19")
    assert "done on 2021-01-19" in done.stdout
    history = json.loads(county("tasks", "history", "--unit", "S001", "system-update", "--period", "2021-01",
                                "--format", "json").stdout)
    assert history[-1]["by"] == "s1"  # the token's user, never the name typed into AIDCAL_USER
    # a central school's operator does its village kindergarten's work too
    remote(server, tokens["s1"], "tasks", "list", "--unit", "K001", "--as-of", "2021-03-01")


def test_evidence_travels_to_the_server_and_back_unchanged(served, tmp_path):
    county, server, tokens = served
    proof = tmp_path / "月报.pdf"
    proof.write_bytes(b"%PDF-1.4 evidence \x00\xff")
    remote(server, tokens["s1"], "tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-02",
           "--as-of", "2021-02-26", "--evidence", proof)
    county("tasks", "evidence", "--unit", "S001", "monthly-report", "--period", "2021-02", "--output", tmp_path / "out")
    assert (tmp_path / "out" / "月报.pdf").read_bytes() == proof.read_bytes()


def test_a_school_is_refused_another_schools_work_and_a_supervisors_acts(served):
    county, server, tokens = served
    before = county.dump()
    refused(remote(server, tokens["s1"], "tasks", "list", "--unit", "S002", ok=False), "S002")
    refused(remote(server, tokens["s1"], "tasks", "done", "--unit", "S002", "system-update", "--period", "2021-01",
                   "--as-of", "2021-01-19", ok=False), "S002")
    refused(remote(server, tokens["s1"], "tasks", "history", "--unit", "S003", "monthly-report", ok=False))
    refused(remote(server, tokens["s1"], "tasks", "extend", "--unit", "S001", "monthly-report", "--period", "2021-01",
                   "--to", "2021-02-10", "--reason", "x", ok=False), "tasks.extend: s1 acts for unit S001: this is a supervisor's act")
    refused(remote(server, tokens["s1"], "overdue", "--as-of", "2021-07-15", "--unit", "S003", ok=False), "S003")
    own = remote(server, tokens["s1"], "overdue", "--as-of", "2021-07-15").stdout  # a school that names none: its own
    assert own == county("overdue", "--as-of", "2021-07-15", "--unit", "S001").stdout
    refused(remote(server, tokens["s1"], "tasks", "list", "--unit", "NOPE", ok=False), "NOPE", "(or no unit has this code)")  # no hint what exists
    after = county.dump()
    assert {k: v for k, v in after.items() if k not in ("audit", "lease")} == \
           {k: v for k, v in before.items() if k not in ("audit", "lease")}
    audit = json.loads(county("audit", "show", "--outcome", "refused", "--format", "json").stdout)
    assert [(e["actor"], e["action"]) for e in audit] == [
        ("s1", "tasks.list"), ("s1", "tasks.done"), ("s1", "tasks.history"), ("s1", "tasks.extend"), ("s1", "overdue"),
        ("s1", "tasks.list")]


def test_a_supervisor_acts_in_its_subtree_only_and_an_auditor_never_writes(served):
    county, server, tokens = served
    local = county("overdue", "--as-of", "2021-07-15", "--format", "json").stdout
    assert remote(server, tokens["sup"], "overdue", "--as-of", "2021-07-15", "--format", "json").stdout == local
    assert remote(server, tokens["aud"], "overdue", "--as-of", "2021-07-15", "--format", "json").stdout == local
    remote(server, tokens["sup"], "tasks", "extend", "--unit", "S002", "monthly-report", "--period", "2021-01",
           "--to", "2021-02-10", "--reason", "停电", "--as-of", "2021-01-20")
    refused(remote(server, tokens["elsewhere"], "tasks", "list", "--unit", "S001", ok=False), "S001")
    refused(remote(server, tokens["elsewhere"], "overdue", "--authority", "340621", ok=False), "340621")
    refused(remote(server, tokens["aud"], "tasks", "done", "--unit", "S001", "monthly-report", "--period", "2021-01",
                   ok=False), "auditor")
    refused(remote(server, tokens["aud"], "tasks", "waive", "--unit", "S001", "monthly-report", "--period", "2021-01",
                   "--reason", "x", ok=False), "auditor")
    outcomes = {(e["actor"], e["outcome"]) for e in json.loads(county("audit", "show", "--format", "json").stdout)}
    assert {("sup", "done"), ("elsewhere", "refused"), ("aud", "refused")} <= outcomes


def test_a_revoked_or_unknown_token_is_refused_and_recorded(served):
    county, server, tokens = served
    remote(server, tokens["s2"], "tasks", "list", "--unit", "S002")
    county("users", "revoke", "s2")
    refused(remote(server, tokens["s2"], "tasks", "list", "--unit", "S002", ok=False), "revoked")
    refused(remote(server, "aidcal_made-up", "tasks", "list", "--unit", "S002", ok=False), "revoked")
    entries = json.loads(county("audit", "show", "--outcome", "refused", "--format", "json").stdout)
    assert len(entries) == 2 and all(e["actor"].startswith("unknown@127.0.0.1") for e in entries)


def test_bad_requests_are_one_line_and_bodies_are_limited(served):
    county, server, tokens = served
    result = remote(server, tokens["s1"], "tasks", "done", "--unit", "S001", "no-such-task", ok=False)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "no-such-task" in result.stderr
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/tasks.list")  # 3 MB announced: refused before a byte of it is read
    conn.putheader("Authorization", f"Bearer {tokens['s1']}")
    conn.putheader("Content-Length", str(3 * 1024 * 1024))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413 and "limit of 2 MB" in json.loads(answer.read())["problems"][0]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/tasks.import")  # a large body is read only once its token is known: not this one
    conn.putheader("Authorization", "Bearer aidcal_made-up")
    conn.putheader("Content-Length", str(1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 401
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/api/tasks.list")  # no length announced: counted as it arrives, refused past 2 MB
    conn.putheader("Authorization", f"Bearer {tokens['s1']}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(3):
            conn.send(b"%x\r\n" % (1024 * 1024) + b"x" * (1024 * 1024) + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close once it has answered
    assert conn.getresponse().status == 413
    assert urllib.request.urlopen(f"{server.address}/openapi.json", timeout=5).status == 200


def _post(server, token: str, name: str, body: bytes, headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/api/{name}", body=body, headers={"Authorization": f"Bearer {token}", **(headers or {})})
    answer = conn.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 200 or len(body["problems"]) == 1
    return answer.status


def test_a_body_that_is_not_json_is_refused_and_guessed_tokens_are_held_off(served):
    county, server, tokens = served
    assert _post(server, tokens["s1"], "tasks.list", b"{not json") == 400
    assert _post(server, tokens["s1"], "tasks.list", b'{"params": ["S001"]}') == 400
    assert [_post(server, f"aidcal_guess{k}", "tasks.list", b"{}") for k in range(10)] == [401] * 10
    # ten failures from this address within the minute: a guess from it is held off, and not recorded
    assert _post(server, "aidcal_guess10", "tasks.list", b"{}") == 429
    refusals = json.loads(county("audit", "show", "--outcome", "refused", "--format", "json").stdout)
    assert sum(entry["actor"] == "unknown@127.0.0.1" for entry in refusals) == 10
    # while another school behind the same address (one NAT) goes on with its known token
    assert _post(server, tokens["s1"], "tasks.list", b'{"params": {"unit": "S001"}}') == 200
    # behind the bureau's proxy (docs/deployment.md: X-Forwarded-For), each client's own address counts
    assert _post(server, "aidcal_guess11", "tasks.list", b"{}", {"X-Forwarded-For": "10.1.1.2"}) == 401


def test_login_keeps_the_token_for_this_user_alone(served, tmp_path):
    county, server, tokens = served
    env = {"AIDCAL_SERVER": None, "AIDCAL_TOKEN": None, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "AIDCAL_LANG": "en", "AIDCAL_DB": None}
    cli = aidcal_cli.cli
    result = CliRunner().invoke(cli, ["login", "--server", "http://192.0.2.1:8790"], input=tokens["s1"] + "\n", env=env)
    assert result.exit_code == 2 and "plain http" in result.stderr
    result = CliRunner().invoke(cli, ["login", "--server", server.address], input=tokens["s1"] + "\n", env=env)
    assert result.exit_code == 0, result.stderr
    saved = tmp_path / "config" / "aidcal" / "credentials.json"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    listed = CliRunner().invoke(cli, ["tasks", "list", "--unit", "S001", "--as-of", "2021-03-01", "--format", "json"],
                                env=env)
    assert listed.exit_code == 0 and json.loads(listed.stdout)
    wrong = CliRunner().invoke(cli, ["login", "--server", server.address], input="aidcal_wrong\n", env=env)
    assert wrong.exit_code == 3 and json.loads(saved.read_text())["token"] == tokens["s1"]


def test_commands_for_the_bureau_alone_refuse_to_run_through_the_server(served):
    county, server, tokens = served
    result = remote(server, tokens["sup"], "users", "list", ok=False)
    assert result.exit_code == 2 and "bureau's database" in result.stderr


def test_the_operator_reads_users_and_the_audit_log_as_tables(served):
    county, server, tokens = served
    county("users", "revoke", "aud")
    listed = county("users", "list").stdout
    assert "users: 5" in listed and "s1" in listed and "S001" in listed and tokens["s1"] not in listed
    remote(server, tokens["s1"], "tasks", "list", "--unit", "S001")
    refused(remote(server, tokens["s1"], "tasks", "list", "--unit", "S002", ok=False))
    shown = county("audit", "show").stdout
    assert "users.revoke" in shown and "refused" in shown and "s1" in shown


def test_a_port_already_taken_is_one_line_and_no_server_is_announced(served):
    county, server, tokens = served
    second = subprocess.run([AIDCAL, "--db", county.url, "serve", "--port", str(server.port)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "AIDCAL_LANG": "en"})
    assert second.returncode == 2 and "serving" not in second.stdout + second.stderr
    assert f"error: cannot listen on 127.0.0.1:{server.port}: Address already in use" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr


def test_a_refusal_is_recorded_in_the_bureaus_words_whatever_language_the_school_reads(served):
    county, server, tokens = served
    asked = ("tasks", "done", "--unit", "S002", "system-update", "--period", "2021-02", "--as-of", "2021-02-19")
    refused(remote(server, tokens["s1"], *asked, ok=False), "may not act for unit S002")
    heard = remote(server, tokens["s1"], *asked, ok=False, env={"AIDCAL_LANG": "zh"})
    assert heard.exit_code == 3 and "无权操作单位 S002" in heard.stderr
    refused(remote(server, "aidcal_made-up", "tasks", "list", "--unit", "S002", ok=False), "revoked")
    entries = json.loads(county("audit", "show", "--outcome", "refused", "--format", "json").stdout)
    english, chinese, unknown = (e["summary"] for e in entries[-3:])
    assert english == chinese and "无权操作单位 S002" in english and "may not" not in english
    assert "令牌" in unknown and "token" not in unknown.replace("令牌", "")


def test_a_remote_command_warns_of_a_year_without_its_holiday_notice_as_a_local_one(served, calendar_file):
    county, server, tokens = served
    county("calendar", "load", calendar_file, "--year", "2027", "--as-of", "2026-12-01")
    asked = ("overdue", "--as-of", "2027-02-10")
    here, there = county(*asked), remote(server, tokens["sup"], *asked)
    assert there.stdout == here.stdout
    assert there.stderr.count("holiday notice for 2027 is not in") == 1 == here.stderr.count("holiday notice for 2027")
    assert "holiday notice" not in remote(server, tokens["sup"], "overdue", "--as-of", "2021-02-10").stderr

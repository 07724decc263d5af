"""Floors: the change an engine figure makes, done by hand-written SQL in a plain
Python process (sqlite3 or psycopg, nothing else), on a copy of the database in
the same state. An engine figure divided by its floor is what the engine costs
over the database's own work.

    python bench/floors.py URL expansion ROSTER.csv
    python bench/floors.py URL overdue AS_OF OUT.json
    python bench/floors.py URL escalate AS_OF CHANNEL[,CHANNEL…]   (per-unit email channel first)
    python bench/floors.py URL advance SOURCE DEST TRIGGER AS_OF GUARD EXTRA

The nightly floor computes each (task, due) pair's rung dates with the engine's
working-day calendar (engine/workdays.py, no database code): that arithmetic is
not SQL, and a few hundred pairs cost nothing.
"""
from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime

MASKS = {"幼儿园": 1, "小学": 2, "初中": 4, "高中": 8, "中职": 16, "特教": 32}


class Db:
    """Statements with `?` marks on either driver, in autocommit with explicit transactions."""

    def __init__(self, url: str):
        if url.startswith("sqlite"):
            import sqlite3
            self.raw = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.raw.execute("PRAGMA journal_mode=WAL")
            self.raw.execute("PRAGMA synchronous=NORMAL")
            self.mark, self.begin_sql, self.sqlite = "?", "BEGIN IMMEDIATE", True
        else:
            import psycopg
            self.raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self.mark, self.begin_sql, self.sqlite = "%s", "BEGIN", False

    def __call__(self, sql: str, params=None):
        # psycopg reads % as a placeholder only when given parameters (LIKE … || '%' has none)
        return self.raw.execute(sql.replace("?", self.mark), params if params is not None or not self.sqlite else ())

    def many(self, sql: str, rows) -> None:
        self.raw.cursor().executemany(sql.replace("?", self.mark), rows)

    def analyze(self, table: str) -> None:
        """PostgreSQL plans with stale statistics for rows this transaction just wrote."""
        if not self.sqlite:
            self(f"ANALYZE {table}")

    def stamp(self, value):
        """A date or datetime as this driver's column stores it."""
        if not self.sqlite:
            return value
        return value.isoformat() if isinstance(value, date) and not isinstance(value, datetime) \
            else value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def __enter__(self):
        self(self.begin_sql)
        return self

    def __exit__(self, kind, *_):
        self("COMMIT" if kind is None else "ROLLBACK")


def expansion(db: Db, roster: str) -> None:
    """The roster's units, then each plan's occurrences × the units under its authority (a code range)."""
    now = db.stamp(datetime.now(UTC))
    with open(roster, encoding="utf-8") as f:
        rows = [(r["code"], r["name"], r["type"], sum(MASKS[t] for t in r["type"].split("|")), r["town"], r["parent"],
                 r["contact"], r["phone"], r.get("email", ""), r["authority"], now, "floor") for r in csv.DictReader(f)]
    with db:
        db.many("INSERT INTO unit (code, name, type, type_mask, town, parent, contact, phone, email, authority, "
                "updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for plan_id, scope, code in db("SELECT id, scope, authority_code FROM plan").fetchall():
            db("""INSERT INTO task_instance (occurrence_id, unit_id, due, extended)
                  SELECT o.id, u.id, o.due, false
                  FROM occurrence o JOIN task t ON t.id = o.task_id
                  JOIN unit u ON (u.type_mask & t.who_mask) != 0 AND (t.who_mask != 64 OR u.code = ?)
                  WHERE t.plan_id = ? AND u.authority >= ? AND u.authority < ?
                    AND o.cancelled_on IS NULL AND t.removed_on IS NULL
                  ON CONFLICT (occurrence_id, unit_id) DO NOTHING""",
               (code, plan_id, scope, scope[:-1] + chr(ord(scope[-1]) + 1)))


def overdue(db: Db, as_of: str, out: str) -> None:
    rows = db("""SELECT u.code, u.name, u.town, u.type, t.key, t.title, o.period, i.due
                 FROM task_instance i JOIN unit u ON u.id = i.unit_id JOIN occurrence o ON o.id = i.occurrence_id
                 JOIN task t ON t.id = o.task_id
                 WHERE i.due < ? AND (i.done_on IS NULL OR i.done_on > ?) AND i.cancelled_on IS NULL
                   AND i.waived_on IS NULL
                 ORDER BY i.due, u.code, t.key, o.period""", (as_of, as_of)).fetchall()
    with open(out, "w", encoding="utf-8") as f:
        json.dump([dict(unit=r[0], unit_name=r[1], town=r[2], type=r[3], task=r[4], title=r[5], period=r[6],
                        due=str(r[7])) for r in rows], f, ensure_ascii=False)


def escalate(db: Db, as_of: str, channels: str) -> None:
    """The nightly run's rows: steps of the rungs due, one notice per authority with its
    items, the notice steps pointing at it, outbox rows (per unit on the first channel,
    one group digest on each other), and the run's record."""
    from aidcal.engine.workdays import WorkCalendar
    day = date.fromisoformat(as_of)
    now, as_of = db.stamp(datetime.now(UTC)), db.stamp(day)  # typed parameters: PostgreSQL infers nothing
    with db:
        calendars = {pid: WorkCalendar(frozenset(map(date.fromisoformat, json.loads(h))),
                                       frozenset(map(date.fromisoformat, json.loads(w))))
                     for pid, h, w in db("SELECT id, holidays, workdays FROM plan").fetchall()}
        pairs = db("""SELECT DISTINCT o.task_id, t.plan_id, t.ladder, i.due FROM task_instance i
                      JOIN occurrence o ON o.id = i.occurrence_id JOIN task t ON t.id = o.task_id
                      WHERE i.due <= ? AND i.cancelled_on IS NULL AND i.waived_on IS NULL""",
                   (db.stamp(date.fromordinal(day.toordinal() + 120)),)).fetchall()
        rungs = []
        for task_id, plan_id, ladder, due in pairs:
            ladder, cal, due = json.loads(ladder), calendars[plan_id], date.fromisoformat(str(due))
            dates = {"reminder": cal.add_workdays(due, ladder["reminder"]), "notice": cal.add_workdays(due, ladder["notice"])}
            if ladder["heads_up"] and day <= due:
                dates["heads_up"] = cal.add_workdays(due, -ladder["heads_up"])
            start = ladder.get("start") and date.fromisoformat(ladder["start"])
            rungs += [(task_id, db.stamp(due), r, db.stamp(d)) for r, d in dates.items()
                      if d <= day and (start is None or d >= start)]
        db("CREATE TEMPORARY TABLE rung_due (task_id integer, due date, rung varchar, due_on date)")
        db.many("INSERT INTO rung_due VALUES (?, ?, ?, ?)", rungs)
        db.analyze("rung_due")
        run_id = db("INSERT INTO run (as_of, started_at, outcome, counts, by) VALUES (?, ?, 'running', '{}', 'floor') "
                    "RETURNING id", (as_of, now)).fetchone()[0]
        db("""INSERT INTO ladder_step (instance_id, rung, due_on, taken_on, run_id)
              SELECT i.id, r.rung, r.due_on, ?, ? FROM task_instance i
              JOIN occurrence o ON o.id = i.occurrence_id JOIN rung_due r ON r.task_id = o.task_id AND r.due = i.due
              JOIN unit u ON u.id = i.unit_id
              WHERE u.type_mask != 64
                AND (i.done_on IS NULL OR i.done_on >= r.due_on) AND (i.cancelled_on IS NULL OR i.cancelled_on >= r.due_on)
                AND (i.waived_on IS NULL OR i.waived_on >= r.due_on)
                AND NOT EXISTS (SELECT 1 FROM ladder_step s WHERE s.instance_id = i.id AND s.rung = r.rung)
              ON CONFLICT (instance_id, rung) DO NOTHING""", (as_of, run_id))
        db.analyze("ladder_step")
        new = """SELECT s.instance_id, i.unit_id, p.authority_code FROM ladder_step s
                 JOIN task_instance i ON i.id = s.instance_id JOIN occurrence o ON o.id = i.occurrence_id
                 JOIN task t ON t.id = o.task_id JOIN plan p ON p.id = t.plan_id
                 WHERE s.run_id = ? AND s.rung = 'notice' AND (i.done_on IS NULL OR i.done_on >= ?)
                   AND (i.cancelled_on IS NULL OR i.cancelled_on >= ?) AND (i.waived_on IS NULL OR i.waived_on >= ?)"""
        args = (run_id, as_of, as_of, as_of)
        db(f"INSERT INTO notice (authority_code, run_id, drafted_on) SELECT DISTINCT authority_code, ?, ? "
           f"FROM ({new}) x ORDER BY 1", (run_id, as_of, *args))
        db(f"""INSERT INTO notice_item (notice_id, instance_id, unit_id) SELECT n.id, x.instance_id, x.unit_id
               FROM ({new}) x JOIN notice n ON n.authority_code = x.authority_code AND n.run_id = ?
               ON CONFLICT (instance_id) DO NOTHING""", (*args, run_id))
        db("""UPDATE ladder_step SET notice_id = (SELECT ni.notice_id FROM notice_item ni JOIN notice n
                                                  ON n.id = ni.notice_id WHERE ni.instance_id = ladder_step.instance_id
                                                  AND n.run_id = ?)
              WHERE run_id = ? AND rung = 'notice'""", (run_id, run_id))
        for k, channel in enumerate(channels.split(",")):
            per_unit = k == 0
            recipient = "u.code" if per_unit else "'*'"
            db(f"""INSERT INTO outbox (run_id, channel, recipient, msgid, status, attempts, next_attempt_at, created_at)
                   SELECT DISTINCT {run_id}, '{channel}', {recipient},
                          '<aidcal.{run_id}.{channel}.' || {recipient} || '@aidcal>', 'pending', 0, ?, ?
                   FROM ladder_step s JOIN task_instance i ON i.id = s.instance_id JOIN unit u ON u.id = i.unit_id
                   WHERE s.run_id = ? {"AND u.email != ''" if per_unit else ""}
                   ON CONFLICT (run_id, channel, recipient) DO NOTHING""", (now, now, run_id))
        db("UPDATE run SET finished_at = ?, outcome = 'ok' WHERE id = ?", (now, run_id))


def advance(db: Db, source: str, dest: str, trigger: str, as_of: str, guard: str, extra: str) -> None:
    """A bulk case step: the history rows and the compare-and-set update, with one predicate."""
    where = f"programme = 'senior-grant' AND term = '2021-autumn' AND state = '{source}' AND {guard}"
    with db:
        db(f"INSERT INTO case_event (case_id, trigger, from_state, to_state, on_date, at, by, reason) "
           f"SELECT id, '{trigger}', state, '{dest}', '{as_of}', '{as_of} 00:00:00', 'floor', '' FROM aid_case WHERE {where}")
        db(f"UPDATE aid_case SET state = '{dest}', state_since = '{as_of}'{extra} WHERE {where}")


if __name__ == "__main__":
    url, name, *args = sys.argv[1:]
    {"expansion": expansion, "overdue": overdue, "escalate": escalate, "advance": advance}[name](Db(url), *args)

"""Calendar tasks the cases complete (calendar.yaml `completes_from`).

A unit's task is done when it has approved cases of the named programmes in
the plan year's term and every one of them has reached the named state; it is
dated the day the last of them got there, so on time and late follow from the
due date as for any completion.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from . import rules, store
from .models import aid_case as c
from .models import case_event as e
from .models import instance as i
from .models import occurrence as o
from .models import plan as p
from .models import task as t
from .status import is_open


def _states(conn: Connection, programme_keys: tuple[str, ...], state: str) -> tuple[frozenset[str], frozenset[str]]:
    """(approved, reached): the states from which a move leads into `state`, and
    `state` with every state reachable from it, in the workflows in force."""
    known = rules.programmes(conn)
    approved, reached = set(), set()
    for key in programme_keys:
        if key not in known:
            continue
        spec = rules.workflow(conn, known[key].workflow)
        approved |= {s for tr in spec.transitions if tr.dest == state for s in tr.sources}
        reached |= spec.reachable_from(state)
    return frozenset(approved | reached), frozenset(reached)


def complete_from_cases(conn: Connection, as_of: date, by: str, reaching: str | None = None) -> int:
    """Mark done every open instance whose cases say so; returns how many. After a move
    into `reaching`, only rules that state can newly satisfy are looked at, and always
    only the units whose instance is still open: a million cases are read once, not per move."""
    done = 0
    tasks = conn.execute(select(t.c.id, t.c.completes_from, p.c.year).join(p, p.c.id == t.c.plan_id)
                         .where(t.c.completes_from.is_not(None), t.c.removed_on.is_(None))).all()
    for task_id, rule_json, year in tasks:
        rule = json.loads(rule_json)
        relevant, reached = _states(conn, tuple(rule["programmes"]), rule["state"])
        if reaching is not None and reaching not in reached:
            continue  # a move short of the rule's state cannot finish it
        still_open = select(i.c.unit_id).where(is_open(), i.c.occurrence_id.in_(select(o.c.id).where(o.c.task_id == task_id)))
        arrived = (select(func.max(e.c.on_date)).where(e.c.case_id == c.c.id, e.c.to_state == rule["state"])
                   .scalar_subquery())
        per_unit = conn.execute(
            select(c.c.unit_id, func.count(), func.sum(case((c.c.state.in_(reached), 1), else_=0)), func.max(arrived))
            .where(c.c.programme.in_(rule["programmes"]), c.c.term == f"{year}-{rule['term']}", c.c.state.in_(relevant),
                   c.c.unit_id.in_(still_open))
            .group_by(c.c.unit_id)
        ).all()
        finished = [(unit_id, total, last) for unit_id, total, n_reached, last in per_unit
                    if total == n_reached and last is not None and last <= as_of]
        for unit_id, total, last in finished:
            done += conn.execute(
                i.update().where(i.c.unit_id == unit_id, is_open(),
                                 i.c.occurrence_id.in_(select(o.c.id).where(o.c.task_id == task_id)))
                .values(done_on=last, done_at=store.now(), done_by=by,
                        note=f"由个案完成：{total} 个已审核个案均已到达 {rule['state']}（最后一例 {last}）")
            ).rowcount
    return done

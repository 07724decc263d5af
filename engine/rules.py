"""A bureau's rules stored in the database: programmes.yaml and workflows/*.yaml.

Like the plan, the rules are the bureau's own configuration. `load_*` validates
a file (file:line errors), compares it with the version in force and stores it
as a new version with who loaded it and when; `programmes()` and `workflow()`
serve the version in force to every command, the daemon and any client, so an
installed package, a second machine or a server needs no files beside it. The
shipped defaults are stored when a database is created (migration 0005).

A version's text is parsed once per process and kept by its hash: a command
that reads the rules costs one small query, not a YAML parse.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import programmes as progs
from . import store
from . import workflow as wf
from .errors import InputError
from .models import aid_case as c
from .models import rule_file as r

PROGRAMMES = "programmes"
WORKFLOW = "workflow"
DEFAULTS_BY = "aidcal (shipped defaults)"
_parsed: dict[str, object] = {}  # sha256 → the parsed spec of that text


@dataclass
class LoadReport:
    kind: str
    name: str
    version: int
    changed: bool
    changes: list[str] = field(default_factory=list)


def _newest(conn: Connection, kind: str, name: str | None = None):
    query = select(r.c.name, r.c.version, r.c.text, r.c.sha256, r.c.source, r.c.loaded_at, r.c.loaded_by).where(r.c.kind == kind)
    if name is not None:
        query = query.where(r.c.name == name)
    newest = select(r.c.name, func.max(r.c.version).label("version")).where(r.c.kind == kind).group_by(r.c.name).subquery()
    return conn.execute(query.join(newest, (newest.c.name == r.c.name) & (newest.c.version == r.c.version))
                        .order_by(r.c.name)).all()


def _spec(row, parse):
    if row.sha256 not in _parsed:
        _parsed[row.sha256] = parse(row.text, row.source)
    return _parsed[row.sha256]


def programmes(conn: Connection) -> dict[str, progs.Programme]:
    """The programmes in force."""
    rows = _newest(conn, PROGRAMMES, PROGRAMMES)
    if not rows:
        raise InputError(_("no programmes are loaded in this database; load them with: aidcal programmes load programmes.yaml"))
    return _spec(rows[0], progs.parse)


def programme(conn: Connection, key: str) -> progs.Programme:
    known = programmes(conn)
    if key not in known:
        raise InputError(_("programme '{programme}' does not exist (known: {known})").format(programme=key, known=_(", ").join(known)))
    return known[key]


def workflows(conn: Connection) -> dict[str, wf.WorkflowSpec]:
    """Every workflow in force, by name."""
    return {row.name: _spec(row, wf.parse) for row in _newest(conn, WORKFLOW)}


def workflow(conn: Connection, name: str) -> wf.WorkflowSpec:
    rows = _newest(conn, WORKFLOW, name)
    if not rows:
        known = _(", ").join(workflows(conn)) or _("none")
        raise InputError(_("workflow '{name}' does not exist (loaded: {known}); load it with: aidcal workflow load FILE").format(
            name=name, known=known))
    return _spec(rows[0], wf.parse)


def versions(conn: Connection, kind: str, name: str) -> dict | None:
    """Which version is in force: its number, file, when and by whom it was loaded."""
    rows = _newest(conn, kind, name)
    if not rows:
        return None
    row = rows[0]
    return dict(version=row.version, source=row.source, loaded_at=store.shown_moment(row.loaded_at), loaded_by=row.loaded_by)


def _store(conn: Connection, kind: str, name: str, source: str, text: str, as_of: date | None, by: str) -> LoadReport:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    current = _newest(conn, kind, name)
    if current and current[0].sha256 == digest:
        return LoadReport(kind, name, current[0].version, changed=False)
    version = current[0].version + 1 if current else 1
    conn.execute(r.insert().values(kind=kind, name=name, version=version, source=source, text=text, sha256=digest,
                                   loaded_at=store.now(), loaded_by=by, as_of=as_of))
    return LoadReport(kind, name, version, changed=True)


def load_workflow(conn: Connection, text: str, source: str, as_of: date | None, by: str) -> LoadReport:
    """Store a workflow file as the version in force. Refused when it would strand
    cases: a state it no longer has while cases are in it."""
    spec = wf.parse(text, source)
    old = workflows(conn).get(spec.name)
    changes = []
    if old is not None:
        removed = sorted(set(old.states) - set(spec.states))
        if removed:
            stranded = conn.execute(select(func.count()).select_from(c).where(
                c.c.workflow == spec.name, c.c.state.in_(removed))).scalar()
            if stranded:
                raise InputError(_("{file}: {n} cases of workflow {workflow} are in states this file removes ({states}); "
                                   "move them first or keep the states").format(
                    file=source, n=stranded, workflow=spec.name, states=_(", ").join(removed)))
        changes += [_("state {state} added").format(state=s) for s in spec.states if s not in old.states]
        changes += [_("state {state} removed").format(state=s) for s in removed]
        before = {(t.trigger, t.sources, t.dest, t.guards) for t in old.transitions}
        after = {(t.trigger, t.sources, t.dest, t.guards) for t in spec.transitions}
        changes += [_("move {trigger}: {sources} → {dest} added").format(trigger=t[0], sources="|".join(t[1]), dest=t[2])
                    for t in sorted(after - before)]
        changes += [_("move {trigger}: {sources} → {dest} removed or changed").format(trigger=t[0], sources="|".join(t[1]), dest=t[2])
                    for t in sorted(before - after)]
        if (old.publicity_days, old.count_posting_day) != (spec.publicity_days, spec.count_posting_day):
            changes.append(_("publicity {before} → {after} working days").format(before=old.publicity_days, after=spec.publicity_days))
        if old.documents != spec.documents:
            changes.append(_("documents to archive: {documents}").format(documents=_(", ").join(spec.documents)))
    report = _store(conn, WORKFLOW, spec.name, source, text, as_of, by)
    report.changes = changes if report.changed else []
    return report


def load_programmes(conn: Connection, text: str, source: str, as_of: date | None, by: str) -> LoadReport:
    """Store a programmes file as the version in force. A changed standard applies
    from the term it names: cases of that term on not yet posted for publicity take
    the new amount; a posted, approved or paid case keeps its amount. Refused when it
    would strand cases: a programme removed, or moved to another workflow, while it has cases."""
    new = progs.parse(text, source)
    loaded = workflows(conn)
    missing = sorted({p.workflow for p in new.values()} - set(loaded))
    if missing:
        raise InputError(_("{file}: programmes name workflows that are not loaded ({workflows}); "
                           "load them first with: aidcal workflow load FILE").format(file=source, workflows=_(", ").join(missing)))
    current = _newest(conn, PROGRAMMES, PROGRAMMES)
    old = _spec(current[0], progs.parse) if current else {}
    held = dict(conn.execute(select(c.c.programme, func.count()).group_by(c.c.programme)).all())
    stranded = [_("{programme} ({n} cases)").format(programme=key, n=held[key]) for key in sorted(held)
                if key in old and (key not in new or new[key].workflow != old[key].workflow)]
    if stranded:
        raise InputError(_("{file}: this file removes programmes, or moves them to another workflow, that have cases: "
                           "{programmes}; keep them as they are").format(file=source, programmes=_(", ").join(stranded)))
    changes = [_("programme {programme} added").format(programme=k) for k in new if k not in old]
    changes += [_("programme {programme} removed").format(programme=k) for k in old if k not in new]
    for key in (k for k in new if k in old):
        before = {r.term_from: r.amounts for r in old[key].rates}
        after = {r.term_from: r.amounts for r in new[key].rates}
        for term in sorted(set(before) | set(after), key=progs.term_order):
            if before.get(term) != after.get(term):
                change = (_("programme {programme}: rate from {term} removed") if term not in after else
                          _("programme {programme}: rate from {term} {amounts} (was {before})") if term in before else
                          _("programme {programme}: rate from {term} {amounts} added"))
                changes.append(change.format(programme=key, term=term, amounts=_amounts(after.get(term, {})),
                                             before=_amounts(before.get(term, {}))))
    report = _store(conn, PROGRAMMES, PROGRAMMES, source, text, as_of, by)
    if report.changed:
        changes += _restandardise(conn, old, new, loaded)
    report.changes = changes if report.changed else []
    return report


def _amounts(amounts: dict) -> str:
    return _(", ").join(f"{level} {amount}" for level, amount in amounts.items())


def _restandardise(conn: Connection, old: dict, new: dict, loaded: dict) -> list[str]:
    """Give the cases not yet posted for publicity the standard now in force for their term."""
    from .cases import restandardise

    lines = []
    terms = conn.execute(select(c.c.programme, c.c.term, c.c.workflow).distinct()).all()
    for key, term, workflow_name in terms:
        if key not in new or key not in old or new[key].rate(term) == old[key].rate(term) or new[key].rate(term) is None:
            continue
        spec = loaded[workflow_name]  # the case's own workflow
        where = [c.c.programme == key, c.c.term == term, c.c.workflow == workflow_name]
        moved = restandardise(conn, [*where, c.c.state == spec.initial])  # not yet posted publicly
        kept = conn.execute(select(func.count()).select_from(c).where(*where, c.c.state != spec.initial)).scalar()
        lines.append(_("{programme} {term}: {moved} cases not yet posted take the new standard; "
                       "{kept} posted, approved or paid keep theirs").format(programme=key, term=term, moved=moved, kept=kept))
    return lines


def load_defaults(conn: Connection) -> None:
    """Store the shipped workflows and programmes where none are loaded (a new database, or
    one upgraded from before rules were stored), and where the version in force is an older
    shipped one (a bureau's own file is never replaced) and no case would be stranded by it."""
    shipped = resources.files("aidcal")
    files = [(WORKFLOW, path.name[:-5], f"workflows/{path.name}", path, load_workflow)
             for path in sorted((shipped / "workflows").iterdir(), key=lambda p: p.name) if path.name.endswith(".yaml")]
    for kind, name, source, path, load in [*files, (PROGRAMMES, PROGRAMMES, "programmes.yaml",
                                                    shipped / "programmes.yaml", load_programmes)]:
        current = _newest(conn, kind, name)
        if current and current[0].loaded_by != DEFAULTS_BY:
            continue
        try:
            load(conn, path.read_text(encoding="utf-8"), source, None, DEFAULTS_BY)
        except InputError:
            continue  # cases would be stranded: the older shipped version stays until the bureau loads its own

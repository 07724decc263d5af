"""The audit log read remotely, by an auditor or a supervisor, within its own subtree: the entries
whose object is a unit or a bureau under its authority (a notice's entries name its bureau), and the
entries of the server's users whose scope lies under it, and the operator's administration of the whole
database (engine/audit.py ADMINISTRATION: plans and rosters loaded, the nightly ladder, keys). Its other
acts (on one county's cases, sheets, users) and unknown tokens' refusals stay the operator's to read."""
from __future__ import annotations

from .. import access
from .. import audit as engine_audit
from ..access import AUDIT
from ..service import as_count, as_date, as_text, op


def _subtree(conn, actor, values: dict) -> dict:
    """The reader's own subtree, and the unit it names."""
    return dict(units=[values["unit"]] if values.get("unit") else [], authority=access.default_authority(actor))


@op("audit.show", AUDIT, reach=_subtree, unit=as_text, who=as_text, since=as_date, action=as_text, outcome=as_text, limit=as_count)
def audit_show(conn, actor, today, unit=None, who=None, since=None, action=None, outcome=None, limit=None):
    return engine_audit.show(conn, unit, who, since, action, outcome, limit or None, within=access.default_authority(actor))

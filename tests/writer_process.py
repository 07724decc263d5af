"""A school writer, a case mover, a case importer or an escalation, as its own
process, for test_many_writers.py.

    python writer_process.py URL done TARGETS.json NAME     (targets: unit, task, period, needs evidence)
    python writer_process.py URL escalate FIRST LAST
    python writer_process.py URL advance PROGRAMME TERM SOURCE DEST AS_OF NAME
    python writer_process.py URL import-cases FILE PROGRAMME TERM
"""
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

from aidcal.engine import access, audit, cases, escalation, moves, rules, sealing, service, store


def main() -> None:
    """Each write audited as its command audits it, so the chain is made by all of them at once."""
    url, role = sys.argv[1], sys.argv[2]
    engine = store.connect(url)
    keys = sealing.read(os.environ["AIDCAL_KEY_FILE"])  # the tests' key file (tests/conftest.py)
    if role == "done":  # one transaction per completion, as `aidcal tasks done` does
        actor = access.operator(sys.argv[4])
        for unit, key, period, needs_evidence in json.loads(Path(sys.argv[3]).read_text()):
            files = [("佐证.pdf", b"evidence")] if needs_evidence else []
            service.call(engine, actor, "tasks.done", dict(unit=unit, task=key, period=period, as_of="2021-07-01",
                                                           files=files), date(2021, 7, 1), keys=keys)
    elif role == "advance":  # bulk moves, one transaction each, as `aidcal cases advance` does
        programme, term, source, dest, as_of, name = sys.argv[3:9]
        for _ in range(5):
            with audit.audited(engine, audit.Entry(f"local:{name}", "cases.advance", "340621")) as conn:
                moves.advance_bulk(conn, unit=None, programme=programme, term=term, source=source, dest=dest,
                                   as_of=date.fromisoformat(as_of), by=name)
    elif role == "import-cases":
        path, programme, term = sys.argv[3:6]
        with audit.audited(engine, audit.Entry("local:importer", "cases.import", Path(path).name)) as conn:
            cases.import_cases(conn, path, rules.programme(conn, programme), term, date(2021, 3, 1), "importer", keys)
    else:
        day, last = date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4])
        while day <= last:
            with audit.audited(engine, audit.Entry("local:nightly", "escalate", day.isoformat())) as conn:
                escalation.escalate(conn, day, "nightly")
            day += timedelta(days=7)


if __name__ == "__main__":
    main()

"""A school writer or an escalation, as its own process, for test_many_writers.py.

    python writer_process.py URL done TARGETS.json NAME
    python writer_process.py URL escalate FIRST LAST
"""
import json
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import escalation, store, tasks  # noqa: E402


def main() -> None:
    url, role = sys.argv[1], sys.argv[2]
    engine = store.connect(url)
    if role == "done":  # one transaction per completion, as `aidcal tasks done` does
        for unit, key, period in json.loads(Path(sys.argv[3]).read_text()):
            with store.writing(engine) as conn:
                tasks.done(conn, unit, key, period, date(2021, 7, 1), sys.argv[4], files=[("佐证.pdf", b"evidence")])
    else:
        day, last = date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4])
        while day <= last:
            with store.writing(engine) as conn:
                escalation.escalate(conn, day, "nightly")
            day += timedelta(days=7)


if __name__ == "__main__":
    main()

"""The acts of engine/service.py, one module per concept: importing this package registers
every one of them (`service.op`)."""
from . import audit, cases, identification, notices, publicity, tasks, units, users  # noqa: F401

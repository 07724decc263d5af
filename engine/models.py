"""The schema. Runtime state only: the spec lives in calendar.yaml, and what is
stored of it (plan, task, occurrence) is the snapshot each year was loaded with.

Status is never stored: it is derived from the facts below (engine/status.py),
so it cannot disagree with them.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

DEFAULT_LADDER = '{"heads_up": null, "reminder": 1, "notice": 3, "rectify": 5, "escalate": 1}'


class Plan(SQLModel, table=True):
    """One year's plan of one authority, as last loaded."""
    __table_args__ = (UniqueConstraint("authority_code", "year"),)
    id: int | None = Field(default=None, primary_key=True)
    authority_code: str = Field(max_length=12)
    authority_name: str
    scope: str = Field(default="", max_length=6)  # the units it applies to: unit.authority LIKE scope || '%' (engine/authorities.py)
    year: int
    source: str
    timezone: str  # as written in calendar.yaml; always Asia/Shanghai (engine/calendar.py refuses others)
    roll: str = Field(max_length=8)
    holidays: str = "[]"  # JSON list of ISO dates: the plan's own days off
    workdays: str = "[]"  # JSON list of ISO dates: the plan's own make-up working days
    sign_off: bool = True  # notices wait for a supervisor's signature before they are issued
    evidence_max_mb: int | None = None  # calendar.yaml's evidence: {max_mb: N}; None: the default
    notice_style: str = "{}"  # JSON: calendar.yaml's notices: number_format, masthead, addressee (the 公文's head)
    loaded_at: datetime
    loaded_by: str


class RuleFile(SQLModel, table=True):
    """A bureau's rules as loaded: programmes.yaml (kind programmes) or one
    workflow file (kind workflow, name = the workflow). Every version is kept;
    the newest of each (kind, name) is in force and is what every command, the
    daemon and any client read, so no file needs to sit beside an installation."""
    __tablename__ = "rule_file"
    __table_args__ = (UniqueConstraint("kind", "name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=32)
    version: int
    source: str  # the file's name as loaded
    text: str
    sha256: str = Field(max_length=64)
    loaded_at: datetime
    loaded_by: str
    as_of: date | None = None  # the as-of day of the load (none for the shipped defaults)


class Unit(SQLModel, table=True):
    """A school, kindergarten… or the authority itself (type_mask BUREAU_MASK)."""
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str
    type: str  # the roster's type string as written, e.g. 初中|高中
    type_mask: int
    town: str = ""
    parent: str = ""  # the unit that oversees it (e.g. a 中心学校), if any
    authority: str = Field(default="", max_length=6, index=True)  # the education bureau it answers to (administrative code)
    contact: str = ""
    phone: str = ""
    email: str = ""  # where the unit's digests go (optional)
    active_from: date | None = None
    closed_on: date | None = None
    updated_at: datetime
    updated_by: str


class Task(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("plan_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    key: str = Field(max_length=64)
    title: str
    who_mask: int
    evidence: str | None = None  # what to attach; a task with evidence requires it
    ladder: str = DEFAULT_LADDER  # JSON: the effective ladder (engine/calendar.py Ladder)
    completes_from: str | None = None  # JSON: {programmes, term, state}: done by the cases (engine/case_tasks.py)
    removed_on: date | None = None  # dropped from the plan on a reload as of this date


class Occurrence(SQLModel, table=True):
    """A task's occurrence in one period, shared by every unit it applies to."""
    __table_args__ = (UniqueConstraint("task_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")
    period: str = Field(max_length=7)  # YYYY-MM of the nominal date
    nominal: date
    due: date  # nominal rolled by the plan's policy
    cancelled_on: date | None = None


class TaskInstance(SQLModel, table=True):
    """One unit's share of an occurrence: the row schools complete."""
    __tablename__ = "task_instance"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "unit_id"),
        Index("ix_task_instance_unit", "unit_id", "due"),
        Index("ix_task_instance_due", "due"),
    )
    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrence.id")
    unit_id: int = Field(foreign_key="unit.id")
    due: date  # the occurrence's, unless extended for this unit
    extended: bool = False
    done_on: date | None = None  # the day the work was done (as the school says)
    done_at: datetime | None = None  # the moment it was recorded (UTC)
    done_by: str | None = None
    note: str | None = None
    cancelled_on: date | None = None
    waived_on: date | None = None


class Event(SQLModel, table=True):
    """Who did what, when: every write to a task instance or unit leaves one."""
    id: int | None = Field(default=None, primary_key=True)
    instance_id: int | None = Field(default=None, foreign_key="task_instance.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    kind: str = Field(max_length=16)  # done, reopen, extend, waive, cancel, close
    on_date: date  # the as-of date the action refers to
    at: datetime  # when it was written (UTC)
    by: str
    detail: str = ""


class EvidenceBlob(SQLModel, table=True):
    """Evidence content, stored once by hash so it travels with the database."""
    __tablename__ = "evidence_blob"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Evidence(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("instance_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="task_instance.id")
    sha256: str = Field(foreign_key="evidence_blob.sha256", max_length=64)
    filename: str
    added_at: datetime
    added_by: str


class Run(SQLModel, table=True):
    """One escalation run: the durable record of what ran, whatever scheduled it."""
    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = Field(default="running", max_length=16)  # running, ok, error
    counts: str = "{}"  # JSON: steps by rung, notices, messages
    error: str | None = None
    by: str


class LadderStep(SQLModel, table=True):
    """A rung taken on one occurrence's ladder. Exists once, whatever ran twice."""
    __tablename__ = "ladder_step"
    __table_args__ = (UniqueConstraint("instance_id", "rung"),)
    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="task_instance.id")
    rung: str = Field(max_length=16)  # heads_up, reminder, notice, escalate
    due_on: date  # when the rule wanted it
    taken_on: date  # the as-of date of the run that took it
    run_id: int = Field(foreign_key="run.id", index=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")


class Notice(SQLModel, table=True):
    """A public notice (通报): drafted by a run, issued (numbered, dated) when signed."""
    __table_args__ = (UniqueConstraint("authority_code", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    authority_code: str = Field(max_length=12)
    run_id: int = Field(foreign_key="run.id")
    drafted_on: date
    number: str | None = Field(default=None, max_length=16)  # YYYY-N in order of issue, per authority
    issued_on: date | None = None  # never backdated: the rectification clock starts here
    signed_by: str | None = None
    discarded_on: date | None = None  # a draft the bureau decided not to issue
    discard_reason: str | None = None


class NoticeItem(SQLModel, table=True):
    __tablename__ = "notice_item"
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    instance_id: int = Field(foreign_key="task_instance.id", unique=True)
    unit_id: int = Field(foreign_key="unit.id")
    rectify_by: date | None = None  # issued_on + the task's rectify working days
    escalate_on: date | None = None  # rectify_by + the task's escalate working days
    rectified_on: date | None = None  # recorded by `notices rectify`; else the task's completion counts
    rectify_note: str | None = None
    rectified_by: str | None = None
    dropped_on: date | None = None  # taken out of the draft (by hand, or at signing: the work was done by then)
    drop_reason: str | None = None
    dropped_by: str | None = None


class Outbox(SQLModel, table=True):
    """A message decided by a run, written in the run's transaction; actions/ delivers it."""
    __table_args__ = (UniqueConstraint("run_id", "channel", "recipient"), Index("ix_outbox_status", "status", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    channel: str = Field(max_length=64)  # a channel name from notify.yaml
    recipient: str = Field(max_length=64)  # a unit code (unit digest) or "*" (group digest)
    msgid: str = Field(unique=True, max_length=128)  # stable: a resend after a crash is recognisable
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed, superseded
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime


class Lease(SQLModel, table=True):
    """Who may run the scheduler (or an escalation) now: compare-and-set on expiry."""
    name: str = Field(primary_key=True, max_length=32)
    holder: str
    expires_at: datetime


class AidCase(SQLModel, table=True):
    """One student's aid in one programme and term. Moves by set-based SQL
    (engine/cases.py) along its workflow; personal numbers are stored here and
    masked everywhere they leave the store."""
    __tablename__ = "aid_case"
    # From 0011 id_number holds a sealed token: a person is id_hash (uq_aid_case_person; 0012).
    __table_args__ = (Index("uq_aid_case_person", "programme", "term", "id_hash", unique=True),
                      Index("ix_aid_case_scope", "unit_id", "programme", "term", "state"))
    id: int | None = Field(default=None, primary_key=True)
    workflow: str = Field(max_length=32)
    programme: str = Field(max_length=32)
    term: str = Field(max_length=12)  # YYYY-spring | YYYY-autumn
    unit_id: int = Field(foreign_key="unit.id")
    name: str
    id_number: str  # GB 11643, checked at import; sealed (engine/sealing.py) from 0011
    phone: str = ""  # sealed
    grade: str = ""
    class_name: str = ""
    level: str = Field(max_length=16)  # special | hard | general
    boarding: bool = True
    bank_card: str = ""  # sealed
    standard: int  # fen: half the annual standard of the programme, level and boarding
    amount: int  # fen: the standard unless overridden
    override_reason: str | None = None
    state: str = Field(max_length=32)
    state_since: date
    publicity_from: date | None = None
    publicity_until: date | None = None  # the last day of publicity
    approvable_from: date | None = None  # the first working day after it
    objection_open: bool = False
    card_type: str | None = None  # bank | social-security
    cash_approval: str | None = None
    callback_outcome: str | None = None
    callback_on: date | None = None
    created_at: datetime
    created_by: str
    # ── from 0008: identification, payout by the bank, a case's life after payout ──
    categories: str = ""  # sealed '|'-joined hardship categories (engine/identification.py), from the identification
    identification_id: int | None = None  # identification.id (no declared key: SQLite adds none without a table rebuild)
    needs_identification: bool = False  # the programme requires one (guard `identified`); False for older cases
    agricultural: bool = False  # 涉农专业: covered by the vocational grant without a hardship level
    paid: int | None = None  # fen paid to the student, or waived at source, this term
    paid_on: date | None = None
    bank_result: str | None = None  # failed: the bank's return refused the row (bank_reason says why)
    bank_reason: str | None = None
    roster_signed_by: str | None = None  # 本人 | 监护人 (签字发放花名册)
    roster_signed_on: date | None = None
    recovered: int = 0  # fen recovered (追回) after payment on false information
    recovered_on: date | None = None
    pay_unit_id: int | None = None  # unit.id, on a stop (异动): the school paying the term
    previous_case_id: int | None = None  # aid_case.id of last year's case this one re-applies from
    publicity_down_on: date | None = None  # the day the publicity list was taken down
    # ── from 0011: personal data sealed; what look-ups and lists use instead ──
    id_hash: str | None = Field(default=None, max_length=32)  # HMAC of the ID number: duplicates, links, the bank's return
    id_masked: str | None = Field(default=None, max_length=18)
    phone_masked: str | None = None
    card_masked: str | None = None


class Identification(SQLModel, table=True):
    """A student's hardship identification (认定) for one school year (教财〔2018〕16号):
    made once a year, reviewed each term, and referred to by every programme's case."""
    __table_args__ = (Index("uq_identification_person", "year", "id_hash", unique=True),)  # the person (0012)
    id: int | None = Field(default=None, primary_key=True)
    year: int  # the school year starting in autumn of this year
    unit_id: int = Field(foreign_key="unit.id")
    name: str
    id_number: str  # sealed from 0011
    level: str = Field(default="", max_length=16)  # special | hard | general, or "" where a category suffices
    categories: str = ""  # sealed '|'-joined, from engine/identification.py CATEGORIES
    pledge: bool  # the signed pledge (承诺书) is on file
    reviewed_on: date  # the class review (民主评议)
    created_at: datetime
    created_by: str
    id_hash: str | None = Field(default=None, max_length=32)  # from 0011
    id_masked: str | None = Field(default=None, max_length=18)


class IdentificationReview(SQLModel, table=True):
    """A term's review of an identification: what changed, why, who."""
    __tablename__ = "identification_review"
    id: int | None = Field(default=None, primary_key=True)
    identification_id: int = Field(foreign_key="identification.id", index=True)
    on_date: date
    level_from: str
    level_to: str
    categories_from: str  # sealed from 0011
    categories_to: str  # sealed from 0011
    reason: str
    at: datetime
    by: str


class CaseEvent(SQLModel, table=True):
    """Every transition of a case: who, when, from, to, why."""
    __tablename__ = "case_event"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="aid_case.id", index=True)
    trigger: str = Field(max_length=32)
    from_state: str | None = None
    to_state: str
    on_date: date
    at: datetime
    by: str
    reason: str = ""


class CaseDocument(SQLModel, table=True):
    __tablename__ = "case_document"
    __table_args__ = (UniqueConstraint("case_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="aid_case.id")
    name: str
    recorded_on: date
    by: str


class AppUser(SQLModel, table=True):
    """Someone who reaches the database through the bureau's server. The role and scope
    decide what they may do (engine/access.py); only a hash of their token is kept, so
    the database alone lets no one in."""
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=16)  # supervisor, unit, auditor
    scope: str = Field(max_length=32)  # a supervisor's or auditor's authority code; a unit's code
    token_sha256: str = Field(unique=True, max_length=64)
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class AuditEntry(SQLModel, table=True):
    """One write or refusal, chained: each entry's hash covers its fields and the
    previous entry's hash, so an entry edited, deleted, inserted or reordered breaks
    the chain at that point (engine/audit.py). An entry is written unlinked (`seq` NULL,
    `prev` and `hash` empty) and linked once, after its write commits, by `audit.link`."""
    __tablename__ = "audit"
    __table_args__ = (
        Index("ix_audit_seq", "seq", unique=True, sqlite_where=text("seq IS NOT NULL"),
              postgresql_where=text("seq IS NOT NULL")),
        # the unlinked, for the linker, on PostgreSQL only: SQLite's are those past the head's id (audit._UNLINKED)
        Index("ix_audit_unlinked", "id", postgresql_where=text("seq IS NULL")).ddl_if(dialect="postgresql"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=80)
    action: str = Field(max_length=48)
    object: str = ""  # the unit, case, scope or file the write was about
    outcome: str = Field(max_length=16)  # done, refused
    rows: int = 0  # rows the write inserted into the recorded tables
    written: str = "{}"  # JSON: table -> [[first id, last id], …] of those rows
    digest: str = Field(default="", max_length=64)  # sha256 of those rows as written
    summary: str = ""  # what was done, never a personal number
    prev: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    seq: int | None = None  # its place in the chain, given as it is linked


class SealKey(SQLModel, table=True):
    """A key that sealed this database's personal data: its id and fingerprint, never the
    key itself (that is in the key file, kept apart: engine/sealing.py). `hashing` is the
    key of the ID numbers' keyed hash."""
    __tablename__ = "seal_key"
    key_id: str = Field(primary_key=True, max_length=16)
    purpose: str = Field(max_length=16)  # sealing | hashing
    fingerprint: str = Field(max_length=16)
    added_at: datetime
    retired_at: datetime | None = None  # nothing is sealed with it any more (aidcal key rotate)


plan = Plan.__table__
unit = Unit.__table__
task = Task.__table__
occurrence = Occurrence.__table__
instance = TaskInstance.__table__
event = Event.__table__
evidence_blob = EvidenceBlob.__table__
evidence = Evidence.__table__
run = Run.__table__
step = LadderStep.__table__
notice = Notice.__table__
notice_item = NoticeItem.__table__
outbox = Outbox.__table__
lease = Lease.__table__
aid_case = AidCase.__table__
case_event = CaseEvent.__table__
case_document = CaseDocument.__table__
rule_file = RuleFile.__table__
identification = Identification.__table__
identification_review = IdentificationReview.__table__
app_user = AppUser.__table__
audit = AuditEntry.__table__
seal_key = SealKey.__table__

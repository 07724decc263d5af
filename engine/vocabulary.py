"""The words machines exchange: statuses, rungs, outcomes. Defined once; the
queries that derive them, the command options that filter by them and the JSON
that carries them all use these tuples. A plain module with no imports, so the
command line can build its options without loading the database layer."""

TASK_STATUSES = ("open", "overdue", "done", "done_late", "cancelled", "waived")
MESSAGE_STATUSES = ("pending", "sent", "failed", "superseded")
RUNGS = ("heads_up", "reminder", "notice", "escalate")
ALERT = "!alert"  # the outbox recipient of a failed run's alert to the bureau's own channel
RUNG_TITLES = {"heads_up": "预提醒", "reminder": "催办提醒", "notice": "通报", "escalate": "约谈/考核扣分"}

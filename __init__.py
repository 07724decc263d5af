"""aidcal: the annual student-aid calendar (学生资助工作计划) of an education bureau,
as data, a rules engine and a command line."""

__version__ = "0.2.0"

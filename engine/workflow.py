"""Case workflows (workflows/*.yaml) as immutable, validated specs, each loaded
into one `transitions.Machine(model=None, auto_transitions=False)`.

The Machine defines and checks the graph (which trigger leads from a state to
another, what is possible from a state); it never holds a case. Cases live in
the database and move by set-based SQL (engine/cases.py); guards and effects
are named here and implemented once in engine/guards.py as SQL.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from aidcal.i18n import _

from . import located
from .errors import InputError
from .guards import EFFECTS, GUARDS

logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every callback at INFO

TOP_KEYS = ("name", "title", "initial", "publicity", "documents", "states", "transitions")
STATE_KEYS = ("name", "title", "final")
TRANSITION_KEYS = ("trigger", "source", "dest", "guards", "effects")
PUBLICITY_KEYS = ("working_days", "count_posting_day", "shows")
PUBLICITY_SHOWS = ("level", "tier", "programme")  # what the list shows beside the amount (a province's choice)


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    guards: tuple[str, ...]
    effects: tuple[str, ...]


def reachable(transitions, state: str) -> set[str]:
    """`state` and every state some sequence of moves leads to from it."""
    seen, frontier = {state}, [state]
    while frontier:
        current = frontier.pop()
        for t in transitions:
            if current in t.sources and t.dest not in seen:
                seen.add(t.dest)
                frontier.append(t.dest)
    return seen


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    title: str
    initial: str
    states: tuple[str, ...]
    titles: dict
    finals: frozenset[str]
    transitions: tuple[Transition, ...]
    publicity_days: int
    count_posting_day: bool
    documents: tuple[str, ...]
    publicity_shows: str = "level"

    def __post_init__(self):
        from transitions import Machine
        # One Machine per workflow, holding no case: it defines and checks moves.
        object.__setattr__(self, "machine", Machine(
            model=None, states=list(self.states), transitions=self._machine_transitions(),
            initial=self.initial, auto_transitions=False))

    def moves(self, source: str, dest: str) -> list[Transition]:
        """The transitions from `source` to `dest` (the Machine checks there is one)."""
        if not self.machine.get_transitions(source=source, dest=dest):
            return []
        return [t for t in self.transitions if source in t.sources and t.dest == dest]

    def by_trigger(self, trigger: str, source: str) -> Transition | None:
        return next((t for t in self.transitions if t.trigger == trigger and source in t.sources), None)

    def reachable_from(self, state: str) -> set[str]:
        return reachable(self.transitions, state)

    def approved_states(self) -> frozenset[str]:
        """The states of a case whose amount was approved: the destination of the move
        that checks the amount against the standard, and every state after it. The
        amount of a case in one of these never changes (`cases record --amount` is refused)."""
        approving = [t.dest for t in self.transitions if "amount_matches_standard" in t.guards]
        return frozenset().union(*(self.reachable_from(dest) for dest in approving))

    def graph(self, engine: str = "mermaid"):
        """The machine as a transitions diagram (mermaid text, or graphviz where installed)."""
        from transitions.extensions.diagrams import GraphMachine

        class Drawing:  # GraphMachine draws only with a model; this one holds no case
            pass

        return GraphMachine(model=Drawing(), states=[{"name": s} for s in self.states], initial=self.initial,
                            transitions=self._machine_transitions(), auto_transitions=False,
                            graph_engine=engine, show_conditions=True, title=self.title).get_graph()

    def mermaid(self) -> str:
        return self.graph("mermaid").draw(None)

    def _machine_transitions(self) -> list[dict]:
        return [dict(trigger=t.trigger, source=list(t.sources), dest=t.dest, conditions=list(t.guards))
                for t in self.transitions]


def read(path: str | Path) -> WorkflowSpec:
    """Validate a workflow file (`aidcal workflow load` stores it; engine/rules.py serves it)."""
    path = Path(path)
    return parse(located.read_text(path), path.name)


def parse(text: str, filename: str) -> WorkflowSpec:
    return _parse(located.load(text, filename), filename)


def _parse(doc, filename: str) -> WorkflowSpec:
    problems: list[str] = []

    def error(line: int, message: str) -> None:
        problems.append(_("{file}:{line}: {problem}").format(file=filename, line=line, problem=message))

    def unknown(mapping, allowed, where):
        for key in mapping:
            if key not in allowed:
                error(located.line_of(mapping, key), where + _("unknown key '{key}' (allowed: {allowed})").format(
                    key=key, allowed=_(", ").join(allowed)))

    if not isinstance(doc, dict):
        raise InputError(_("{file}:1: a workflow is a mapping of {keys}").format(file=filename, keys=_(", ").join(TOP_KEYS)))
    unknown(doc, TOP_KEYS, "")
    states, titles, finals = [], {}, set()
    for k, item in enumerate(doc.get("states") or []):
        line = doc["states"].item_lines[k]
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            error(line, _("state: each state needs a name"))
            continue
        unknown(item, STATE_KEYS, _("state {state}: ").format(state=item["name"]))
        if item["name"] in titles:
            error(line, _("state {state}: defined twice").format(state=item["name"]))
        states.append(item["name"])
        titles[item["name"]] = str(item.get("title", item["name"]))
        if item.get("final"):
            finals.add(item["name"])
    if not states:
        error(located.line_of(doc, "states" if "states" in doc else None), _("states: required, a list of states"))
    initial = doc.get("initial")
    if initial not in titles:
        error(located.line_of(doc, "initial" if "initial" in doc else None), _("initial state '{state}' is not a state").format(
            state=initial))

    transitions = []
    for k, item in enumerate(doc.get("transitions") or []):
        line = doc["transitions"].item_lines[k]
        if not isinstance(item, dict):
            error(line, _("transition: must be a mapping of {keys}").format(keys=_(", ").join(TRANSITION_KEYS)))
            continue
        where = _("transition {trigger}: ").format(trigger=item.get("trigger"))
        unknown(item, TRANSITION_KEYS, where)
        sources = item.get("source")
        sources = tuple(sources) if isinstance(sources, list) else (sources,)
        for state in (*sources, item.get("dest")):
            if state not in titles:
                error(line, where + _("unknown state '{state}' (states: {states})").format(state=state, states=_(", ").join(states)))
        for field, known, message in (("guards", GUARDS, _("unknown guard '{name}' (known: {known})")),
                                      ("effects", EFFECTS, _("unknown effect '{name}' (known: {known})"))):
            for name in item.get(field) or []:
                if name not in known:
                    error(located.line_of(item, field), where + message.format(name=name, known=_(", ").join(known)))
        for state in sources:
            if state in finals:
                error(line, where + _("leaves the final state '{state}'").format(state=state))
        transitions.append(Transition(str(item.get("trigger")), sources, item.get("dest"),
                                      tuple(item.get("guards") or ()), tuple(item.get("effects") or ())))

    publicity = doc.get("publicity") or {}
    unknown(publicity, PUBLICITY_KEYS, _("publicity: "))
    days = publicity.get("working_days", 5)
    if not isinstance(days, int) or not 1 <= days <= 30:
        error(located.line_of(publicity, "working_days"), _("publicity: working_days {days!r} is not allowed (1..30)").format(days=days))
    shows = publicity.get("shows", "level")
    if shows not in PUBLICITY_SHOWS:
        error(located.line_of(publicity, "shows"), _("publicity: shows {shows!r} is not allowed ({allowed})").format(
            shows=shows, allowed=_(", ").join(PUBLICITY_SHOWS)))
    documents = doc.get("documents") or []
    if initial in titles:
        reached = reachable(transitions, initial)
        for k, state in enumerate(states):
            if state not in reached:
                error(doc["states"].item_lines[k], _("state {state}: unreachable from the initial state '{initial}'").format(
                    state=state, initial=initial))
    for key in ("name", "title"):
        if key in doc and not isinstance(doc[key], str):
            error(located.line_of(doc, key), _("{key} must be text, not {kind}").format(key=key, kind=located.kind(doc[key])))
    if isinstance(doc.get("name"), str) and not re.match(r"^[a-z][a-z0-9_]{0,31}$", doc["name"]):
        error(located.line_of(doc, "name"), _("name '{name}' must be lowercase letters, digits and '_' (e.g. student_aid)").format(
            name=doc["name"]))
    if problems:
        raise InputError(problems)
    return WorkflowSpec(str(doc.get("name") or filename.rsplit(".", 1)[0]), str(doc.get("title", "")), initial,
                        tuple(states), titles, frozenset(finals), tuple(transitions), days,
                        bool(publicity.get("count_posting_day", True)), tuple(map(str, documents)), shows)

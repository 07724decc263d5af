"""YAML read with line numbers, so a spec error can say file:line.

PyYAML's composed node tree knows where every key and value stands; the
constructed Python objects do not. We construct from the nodes ourselves and
keep the line of every mapping key and sequence item beside the value.

The files come from bureaus and schools, so they are hostile until checked:
a file larger than MAX_BYTES is refused before it is read, aliases may not
expand beyond MAX_NODES nodes in all (a "billion laughs" file is a few
hundred bytes), nesting may not go deeper than MAX_DEPTH, and a key may not
appear twice in a mapping (YAML would silently keep the last).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from aidcal.i18n import _

from .errors import InputError

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 50


class Mapping(dict):
    """A dict that remembers the 1-based line of each key (and of itself)."""

    line: int
    key_lines: dict


class Sequence(list):
    """A list that remembers the 1-based line of each item (and of itself)."""

    line: int
    item_lines: list


def read_text(path: str | Path) -> str:
    """A spec file's text: refused unread when it is too big, not a regular file or not UTF-8."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError((_("{file}: no such file") if not path.exists() else _("{file}: not a regular file")).format(file=path))
        if path.stat().st_size > MAX_BYTES:
            raise InputError(_too_big(path.name))
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(_("{file}: cannot read: {reason}").format(file=path, reason=exc.strerror)) from None
    except UnicodeDecodeError:
        raise InputError(_("{file}:1: not UTF-8 text; save it as UTF-8").format(file=path.name)) from None


def _too_big(filename: str) -> str:
    return _("{file}:1: the file is larger than {mb} MB; a plan or rule file is a few KB").format(
        file=filename, mb=MAX_BYTES // 1024 // 1024)


def load(text: str, filename: str):
    if len(text) > MAX_BYTES:
        raise InputError(_too_big(filename))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else f"{filename}:1"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(_("{where}: not valid YAML: {problem}").format(where=where, problem=problem)) from None
    except RecursionError:
        raise InputError(_("{file}:1: nested deeper than {depth} levels").format(file=filename, depth=MAX_DEPTH)) from None
    if root is None:
        return Mapping()
    return _Builder(filename).build(root, 0)


class _Builder:
    """Constructs values from nodes, counting every node it expands (an alias is
    expanded each time it is used) and the depth it reaches."""

    def __init__(self, filename: str):
        self.filename, self.nodes, self.loader = filename, 0, yaml.SafeLoader("")

    def refuse(self, node, message: str):
        raise InputError(_("{file}:{line}: {problem}").format(file=self.filename, line=node.start_mark.line + 1, problem=message))

    def build(self, node, depth: int):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.refuse(node, _("the file expands to more than {n} values (aliases used over and over?)").format(n=MAX_NODES))
        if depth > MAX_DEPTH:
            self.refuse(node, _("nested deeper than {depth} levels").format(depth=MAX_DEPTH))
        if isinstance(node, yaml.MappingNode):
            out = Mapping()
            out.line = node.start_mark.line + 1
            out.key_lines = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.refuse(key_node, _("a key must be a plain name, not a list or mapping"))
                key = self.loader.construct_object(key_node, deep=True)
                if key in out:
                    self.refuse(key_node, _("key '{key}' appears twice in this mapping (first on line {line})").format(
                        key=key, line=out.key_lines[key]))
                out[key] = self.build(value_node, depth + 1)
                out.key_lines[key] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            out = Sequence(self.build(item, depth + 1) for item in node.value)
            out.line = node.start_mark.line + 1
            out.item_lines = [item.start_mark.line + 1 for item in node.value]
            return out
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.refuse(node, _("not valid YAML: {problem}").format(problem=getattr(exc, "problem", None) or exc))


def kind(value) -> str:
    """What a value is, in the words of an error: a list, a mapping, a number…"""
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")
    return {bool: _("true/false"), int: _("a number"), float: _("a number")}.get(type(value), type(value).__name__)


def line_of(mapping, key=None) -> int:
    """The line of `key` in `mapping` (or of the mapping itself); 0 if unknown."""
    if key is not None and isinstance(mapping, Mapping):
        return mapping.key_lines.get(key, getattr(mapping, "line", 0))
    return getattr(mapping, "line", 0)

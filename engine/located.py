"""YAML read with line numbers, so a spec error can say file:line.

PyYAML's composed node tree knows where every key and value stands; the
constructed Python objects do not. We construct from the nodes ourselves and
keep the line of every mapping key and sequence item beside the value.
"""
from __future__ import annotations

import yaml

from .errors import InputError


class Mapping(dict):
    """A dict that remembers the 1-based line of each key (and of itself)."""

    line: int
    key_lines: dict


class Sequence(list):
    """A list that remembers the 1-based line of each item (and of itself)."""

    line: int
    item_lines: list


def load(text: str, filename: str):
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{where}: not valid YAML: {problem}") from None
    if root is None:
        return Mapping()
    return _build(root, yaml.SafeLoader(""))


def _build(node, loader):
    if isinstance(node, yaml.MappingNode):
        out = Mapping()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            out[key] = _build(value_node, loader)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        out = Sequence(_build(item, loader) for item in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [item.start_mark.line + 1 for item in node.value]
        return out
    return loader.construct_object(node, deep=True)


def line_of(mapping, key=None) -> int:
    """The line of `key` in `mapping` (or of the mapping itself); 0 if unknown."""
    if key is not None and isinstance(mapping, Mapping):
        return mapping.key_lines.get(key, getattr(mapping, "line", 0))
    return getattr(mapping, "line", 0)

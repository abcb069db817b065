"""Conditions of playbook exits and entry rules: a small, safe expression language.

    outcome.interested and deal.amount >= 100000
    outcome.result in ('meeting', 'callback') or lead.country == 'KZ'
    not outcome.budget_approved

Names are ``outcome.<field>`` (the current stage's outcome forms), ``deal.<field>``
(amount, currency, stage, and fields set by people and automated steps) and
``lead.<field>``; values are strings, numbers, ``true``/``false`` (also ``yes``/``no``) and
``none``; operators ``and or not == != < <= > >= in``. The text is parsed by Python's
``ast`` and only these nodes are accepted, so nothing can be called or imported. A missing
value is ``None``: ordering comparisons with it are false, never an error.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACES = ("outcome", "deal", "lead")
WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}
_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


class ConditionError(ValueError):
    """The condition cannot be parsed or names something that does not exist."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition and the names it reads (``("outcome", "interested")``, ...)."""

    text: str
    tree: ast.Expression
    names: frozenset[tuple[str, str]]

    def __call__(self, scope: Mapping[str, Mapping[str, Any]]) -> bool:
        return bool(_eval(self.tree.body, scope))


def parse(text: str) -> Condition:
    """Parse and check the syntax of a condition (raises :class:`ConditionError`)."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("empty condition")
    if len(text) > 2000:
        raise ConditionError("condition longer than 2000 characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"cannot parse {text!r}: {exc.msg}") from None
    names: set[tuple[str, str]] = set()
    _check(tree.body, names, depth=0)
    return Condition(text=text, tree=tree, names=frozenset(names))


def _check(node: ast.AST, names: set[tuple[str, str]], depth: int) -> None:
    if depth > 50:
        raise ConditionError("condition nested too deeply")
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, names, depth + 1)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        _check(node.operand, names, depth + 1)
    elif isinstance(node, ast.Compare):
        if not all(isinstance(op, _COMPARE) for op in node.ops):
            raise ConditionError("only == != < <= > >= in and not in compare values")
        _check(node.left, names, depth + 1)
        for comparator in node.comparators:
            _check(comparator, names, depth + 1)
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name) or node.value.id not in NAMESPACES:
            raise ConditionError(
                f"{ast.unparse(node)!r}: names are outcome.<field>, deal.<field>, lead.<field>"
            )
        names.add((node.value.id, node.attr))
    elif isinstance(node, ast.Name):
        if node.id not in WORDS:
            raise ConditionError(
                f"unknown name {node.id!r}: use outcome.<field>, deal.<field>, lead.<field>, "
                "quoted 'text', numbers, true/false or none"
            )
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, str | int | float | bool) and node.value is not None:
            raise ConditionError(f"unsupported value {ast.unparse(node)}")
    elif isinstance(node, ast.Tuple | ast.List):
        for item in node.elts:
            _check(item, names, depth + 1)
    else:
        raise ConditionError(f"{ast.unparse(node)!r} is not allowed in a condition")


def _eval(node: ast.AST, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, scope) for v in node.values)
        return any(_eval(v, scope) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(value, int | float) else None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, scope)
            if not _compare(op, left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Attribute):
        assert isinstance(node.value, ast.Name)
        return (scope.get(node.value.id) or {}).get(node.attr)
    if isinstance(node, ast.Name):
        return WORDS[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        return [_eval(item, scope) for item in node.elts]
    raise ConditionError(f"{ast.unparse(node)!r} is not allowed")  # _check refuses it first


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    if isinstance(op, ast.Eq):
        return bool(left == right)
    if isinstance(op, ast.NotEq):
        return bool(left != right)
    if isinstance(op, ast.In | ast.NotIn):
        found = isinstance(right, list | str) and left is not None and left in right
        return found if isinstance(op, ast.In) else not found
    if left is None or right is None:
        return False
    try:
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        return bool(left >= right)
    except TypeError:  # 'abc' < 5: different kinds of value are not ordered
        return False

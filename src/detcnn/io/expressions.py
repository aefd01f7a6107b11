"""Expressions over a ROOT file's branches: the way a dataset maps its file's layout onto our contract.

A contract name (``part_eta``) may be given as a branch name (``PFCands_eta``) or as an expression in
uproot's expression syntax, which is Python's: ``part_deta + jet_eta``, ``label_QCD == 0``,
``Jet_eta[:, 0]``, ``sqrt(px**2 + py**2)``, ``(nJet >= 1) & (MET_pt > 20)``. Names are the file's
branches, and contract names that are no branch of the file (so ``part_eta: Jet_eta[:, 0] + part_deta``
and ``part_eta: jet_eta + part_deta`` with ``jet_eta: Jet_eta[:, 0]`` are the same); ``and``, ``or``,
``not`` act element-wise; the functions are numpy's ufuncs
(``sqrt``, ``abs``, ``log``, ``arctan2``, ``where``, ...), awkward's ``num``, ``firsts``, ``sum``, ``max``,
``min``, ``any``, ``all``, and the modules ``np`` and ``ak``.

uproot itself evaluates a ``cut`` together with the other expressions, on every entry: ``Jet_eta[:, 0]``
then fails on an event without jets even under ``cut="nJet >= 1"``. Here the selection is applied first:
uproot reads the branches the expressions name, the selection keeps its entries, and only then are the
expressions evaluated, on the kept entries alone.
"""

from __future__ import annotations

import ast
import copy
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from detcnn.errors import ConfigError, InputError

UFUNCS = ("abs", "sqrt", "exp", "log", "log10", "log1p", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
          "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "hypot", "floor", "ceil", "sign",
          "minimum", "maximum", "isnan", "isfinite", "where")  # fmt: skip
AWKWARD = ("num", "firsts", "sum", "max", "min", "any", "all", "argmax", "argmin", "fill_none", "mean")
FUNCTIONS: dict[str, Any] = {
    **{name: getattr(np, name) for name in UFUNCS},
    **{name: getattr(ak, name) for name in AWKWARD},
    "np": np,
    "ak": ak,
    "pi": np.pi,
}
_ALLOWED = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
            ast.Call, ast.Subscript, ast.Slice, ast.Tuple, ast.Attribute, ast.keyword, ast.operator, ast.unaryop,
            ast.cmpop, ast.boolop, ast.IfExp)  # fmt: skip


class _Elementwise(ast.NodeTransformer):
    """``a and b`` -> ``np.logical_and(a, b)`` (and ``or``, ``not``): Python's keywords on arrays."""

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        name = "logical_and" if isinstance(node.op, ast.And) else "logical_or"
        out = node.values[0]
        for value in node.values[1:]:
            func = ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load())
            out = ast.Call(func, [out, value], [])
        return out

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "logical_not", ast.Load()), [node.operand], [])
        return node


class Expression:
    """One expression, parsed and checked once: the names it reads, compiled for evaluation."""

    def __init__(self, text: str, key: str) -> None:
        self.text, self.key = str(text), key
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"'{self.text}' is not an expression ({exc.msg})", key=key) from None
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise ConfigError(f"'{self.text}' uses {type(node).__name__}, which expressions cannot", key=key)
            if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id in
                                                        ("np", "ak")):  # fmt: skip
                raise ConfigError(f"'{self.text}': attributes only of np and ak", key=key)
        self.names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS))
        self._code = compile(ast.fix_missing_locations(_Elementwise().visit(tree)), f"<{key}>", "eval")

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return eval(self._code, {"__builtins__": {}, **FUNCTIONS}, dict(values))  # a checked syntax tree, no builtins


class BranchMap:
    """The contract names of a dataset, each a branch or an expression of the file's branches, and an
    optional entry ``selection``; see the module doc."""

    def __init__(
        self, mapping: Mapping[str, str], selection: str | None = None, key: str = "branches",
        optional: Sequence[str] = (),
    ) -> None:  # fmt: skip
        self.exprs = {name: Expression(text, f"{key}.{name}") for name, text in mapping.items()}
        self.selection = Expression(selection, "selection") if selection else None
        self.optional = tuple(optional)

    def for_file(self, available: Sequence[str]) -> BranchMap:
        """Without the ``optional`` contract names that are plain branch names the file does not have (a
        file without ``part_m`` is read as massless, say)."""
        out = copy.copy(self)

        def missing(name: str, expr: Expression) -> bool:
            plain = expr.text.strip()
            return name in self.optional and expr.names == [plain] and plain not in available

        out.exprs = {n: e for n, e in self.exprs.items() if not missing(n, e)}
        return out

    def branches(self, available: Sequence[str], path: object) -> list[str]:
        """The file branches the expressions and the selection read; an InputError naming the expression,
        the file and the branches (closest first) for a name the file does not have."""
        needed: set[str] = set()
        named = [*self.exprs.items(), *([("", self.selection)] if self.selection else [])]
        for own, expr in named:
            for name in expr.names:
                if name in available:
                    needed.add(name)
                elif name not in self.exprs or name == own:  # a branch the file lacks (own: not itself)
                    close = difflib.get_close_matches(name, available, n=5, cutoff=0.5)
                    listed = f"{sorted(available)[:40]}{' ...' if len(available) > 40 else ''}"
                    what = "missing branch" if expr.text.strip() == name else f"'{expr.key}: {expr.text}' reads it"
                    raise InputError(
                        f"{what}: no such branch in the tree (closest: {close or 'none'}; the tree has "
                        f"{len(available)} branches: {listed})", path=path, branch=name,
                        fix="map the contract names to this file's branches under the dataset's 'branches'",
                    )  # fmt: skip
        return sorted(needed)

    def select(self, raw: Mapping[str, Any], path: object) -> np.ndarray | None:
        """The selection's boolean mask ``(n_entries,)`` of the raw branches (None: keep all)."""
        if self.selection is None:
            return None
        mask = _evaluate(self.selection, raw, {}, path)
        mask = np.asarray(ak.to_numpy(mask) if isinstance(mask, ak.Array) else mask)
        if mask.dtype != bool or mask.ndim != 1:
            raise InputError(f"selection '{self.selection.text}' gives {mask.dtype} of shape {mask.shape}, not one "
                             "True/False per entry", path=path, fix="write a comparison, e.g. 'nJet >= 1'")  # fmt: skip
        return mask

    def evaluate(self, raw: Mapping[str, Any], path: object) -> dict[str, Any]:
        """Every contract name evaluated on the (selected) raw branches."""
        done: dict[str, Any] = {}
        for name in self.exprs:
            _resolve(name, self.exprs, raw, done, path, ())
        return done


def _resolve(name: str, exprs: Mapping[str, Expression], raw: Mapping[str, Any], done: dict[str, Any],
             path: object, stack: tuple[str, ...]) -> Any:  # fmt: skip
    """The value of contract name ``name``, evaluating the contract names it uses first."""
    if name in done:
        return done[name]
    if name in stack:
        raise ConfigError(f"the expressions of {' -> '.join((*stack, name))} refer to each other", key="branches")
    expr = exprs[name]
    scope = {n: raw[n] for n in expr.names if n in raw}
    for n in expr.names:
        if n not in raw and n in exprs:  # a contract name that is no branch of the file: its expression
            scope[n] = _resolve(n, exprs, raw, done, path, (*stack, name))
    done[name] = _evaluate(expr, scope, {}, path)
    return done[name]


def _evaluate(expr: Expression, values: Mapping[str, Any], extra: Mapping[str, Any], path: object) -> Any:
    try:
        return expr.evaluate({**values, **extra})
    except Exception as exc:  # the user's expression on the file's data: say which, where and why
        raise InputError(f"'{expr.key}: {expr.text}' cannot be evaluated on the file's branches "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})", path=path,
                         fix="check the expression against the branches (a selection runs first: e.g. 'nJet >= 1' "
                         "before 'Jet_eta[:, 0]')") from None  # fmt: skip

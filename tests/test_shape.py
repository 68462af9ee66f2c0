"""The shape the code keeps so one sitting reads a module: modules under ~400 lines, functions under ~60,
signatures of at most 6 parameters (plain-data constructors excepted). Run `python tests/test_shape.py` for
the list of what is over."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("digest", "tasks", "bench")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 6
# Generated or data-only files: migrations are frozen history, catalogues are word lists.
EXEMPT_MODULES = ("digest/adapters/storage/migrations/", "digest/web/catalogue/", "digest/web/i18n.py")


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    count = len([n for n in names if n.arg not in ("self", "cls")])
    return count + (a.vararg is not None) + (a.kwarg is not None)


def over_limits() -> list[str]:
    found = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT_MODULES):
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{rel}: {lines} lines (module)")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
            if _parameters(node) > MAX_PARAMETERS and node.name != "__init__":
                found.append(f"{rel}:{node.lineno} {node.name}: {_parameters(node)} parameters")
    return found


def test_modules_functions_and_signatures_stay_small():
    # Options beyond six travel as one record: a dataclass, or a TypedDict unpacked as keywords.
    assert over_limits() == []


def test_the_check_sees_a_long_function(tmp_path, monkeypatch):
    pkg = tmp_path / "digest"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    (pkg / "big.py").write_text(f"def grown(a, b, c, d, e, f, g):\n{body}\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("digest",))
    assert over_limits() == [
        f"digest/big.py:1 grown: {MAX_FUNCTION_LINES + 2} lines",
        "digest/big.py:1 grown: 7 parameters",
    ]


if __name__ == "__main__":
    print("\n".join(over_limits()) or "all within limits")

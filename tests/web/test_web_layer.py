"""The web layer parses requests, calls services and renders; the database is the services' business.

Read with `ast`, so a query hidden in a handler fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "digest" / "web"
MODULES = sorted(WEB.rglob("*.py"))
# A handler may still hold the request's Session to pass it on, so naming its type is allowed.
ALLOWED_SQLALCHEMY = {("sqlalchemy.orm", "Session")}
SESSION_CALLS = {"get", "scalar", "scalars", "execute", "query", "add", "add_all", "delete"}


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(WEB.parent.parent)}:{getattr(node, 'lineno', '?')}"


def _sqlalchemy_imports(path: Path, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [_where(path, node) for alias in node.names if alias.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [
                f"{_where(path, node)} {node.module}.{alias.name}"
                for alias in node.names
                if (node.module, alias.name) not in ALLOWED_SQLALCHEMY
            ]
    return found


def _queries(path: Path, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("select", "update", "delete", "insert", "text"):
            found.append(f"{_where(path, node)} {func.id}(")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in SESSION_CALLS
            and isinstance(func.value, ast.Name)
            and func.value.id == "session"
        ):
            found.append(f"{_where(path, node)} session.{func.attr}(")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WEB)))
def test_the_web_layer_neither_imports_sqlalchemy_nor_queries(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert _sqlalchemy_imports(path, tree) == []
    assert _queries(path, tree) == []


def test_the_check_sees_a_query_and_an_import():
    tree = ast.parse("from sqlalchemy import select\nrows = session.scalars(select(Model))\n")
    assert len(_sqlalchemy_imports(WEB / "x.py", tree)) == 1
    assert len(_queries(WEB / "x.py", tree)) == 2

"""The import layers: core < adapters < services < entry points, and a layer imports only its own or lower ones.

- digest.core (pure): imports only digest.core and libraries that touch nothing outside the process
  (jinja2, premailer, nh3, lxml, itsdangerous, dotenv are fine; no database, broker, network or framework).
- digest.adapters: may import digest.core; not the web or console frameworks.
- digest.services: may import the core and the adapters; not the web or console frameworks.
- entry points (digest.cli, digest.web, digest.worker, and tasks, the worker's alias): may import everything
  below them, but not one another.

Every import counts: at the top, inside functions and under `if TYPE_CHECKING`. Run `python tests/test_layers.py`
for the list of what breaks a rule.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("digest", "tasks")

LAYERS = ("core", "adapters", "services", "entry points")

# Libraries each layer must not import (each with its submodules). The core does no I/O of its own beyond reading its
# templates and settings: no database, broker, sockets or mail server, and no framework of an entry point.
FRAMEWORKS = ("click", "fastapi", "starlette", "uvicorn", "multipart")
FORBIDDEN = {
    "core": (
        *FRAMEWORKS,
        *("sqlalchemy", "alembic", "psycopg", "celery", "kombu", "redis"),
        *("smtplib", "socket", "ssl", "http", "urllib.request", "httpx", "requests", "aiosmtpd"),
    ),
    "adapters": FRAMEWORKS,
    "services": FRAMEWORKS,
    "entry points": (),
}

# Crossings between entry points that are the point of the importing module, by file and imported module.
# (frozenset: the set stays a set when its last line goes.)
ALLOWED = frozenset(
    {
        # `digest serve` is the console script starting the web app; the web never imports the console script.
        "digest/cli/commands.py -> digest.web",
    }
)


def module_name(rel: str) -> str:
    """digest/core/ingest/__init__.py -> digest.core.ingest; digest/worker.py -> digest.worker."""
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of one of our modules, or None for a library (and for the bare `digest` package)."""
    for prefix, layer in (("digest.core", "core"), ("digest.adapters", "adapters"), ("digest.services", "services")):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return "entry points" if entry_point(module) else None


ENTRY_POINTS = (("digest.cli", "cli"), ("digest.web", "web"), ("digest.worker", "worker"), ("tasks", "worker"))


def entry_point(module: str) -> str | None:
    """Which entry point a module belongs to: cli, web or worker (tasks is the worker under its old name)."""
    for prefix, name in (
        ("digest.cli", "cli"),
        ("digest.web", "web"),
        ("digest.worker", "worker"),
        ("tasks", "worker"),
    ):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def imported_modules(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every import in the tree, relative ones resolved; `from pkg import sub` names pkg.sub
    when sub is one of our modules."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            found += [(node.lineno, sub) for sub in subs] or [(node.lineno, base)]
    return found


def _broken_rule(importer: str, imported: str) -> str | None:
    here, there = layer_of(importer), layer_of(imported)
    assert here is not None, importer
    if there is None:
        banned = [lib for lib in FORBIDDEN[here] if imported == lib or imported.startswith(lib + ".")]
        return f"{here} must not import {banned[0]}" if banned else None
    if LAYERS.index(there) > LAYERS.index(here):
        return f"{here} must not import {there} (a higher layer)"
    ours, theirs = entry_point(importer), entry_point(imported)
    if ours and theirs and ours != theirs:
        return f"entry point {ours} must not import entry point {theirs}"
    return None


def violations() -> list[tuple[str, str]]:
    """(key, message) for each import that breaks a rule: key is 'file -> module', message adds line and rule."""
    files = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))
    rels = [p.relative_to(ROOT).as_posix() for p in files]
    known = {module_name(rel) for rel in rels}
    found = []
    for path, rel in zip(files, rels, strict=True):
        module = module_name(rel)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for line, imported in imported_modules(tree, module, rel.endswith("__init__.py"), known):
            rule = _broken_rule(module, imported)
            key = f"{rel} -> {imported}"
            if rule and not any(key == allowed or key.startswith(allowed + ".") for allowed in ALLOWED):
                found.append((key, f"{rel}:{line}: imports {imported}: {rule}"))
    return found


def test_no_layer_imports_a_higher_one_or_a_forbidden_library():
    found = [message for _, message in violations()]
    assert found == [], "\n".join(found)


def _fake_tree(tmp_path: Path, files: dict[str, str], monkeypatch) -> None:
    for rel, source in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)


def test_the_check_reports_a_core_module_importing_upwards_and_storage(tmp_path, monkeypatch):
    _fake_tree(
        tmp_path,
        {
            "digest/__init__.py": "",
            "digest/core/__init__.py": "",
            "digest/core/pure.py": "import re\n\n\ndef f():\n"
            "    from digest.services import use\n"
            "    import sqlalchemy.orm\n",
            "digest/services/__init__.py": "",
            "digest/services/use.py": "from ..core import pure\n",
        },
        monkeypatch,
    )
    assert [message for _, message in violations()] == [
        "digest/core/pure.py:5: imports digest.services.use: core must not import services (a higher layer)",
        "digest/core/pure.py:6: imports sqlalchemy.orm: core must not import sqlalchemy",
    ]


def test_the_check_reports_one_entry_point_importing_another(tmp_path, monkeypatch):
    _fake_tree(
        tmp_path,
        {
            "digest/web/__init__.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from digest.cli import main\n",
            "digest/cli/__init__.py": "",
            "digest/worker.py": "from .web import app\n",
            "tasks/__init__.py": "from digest.worker import app\n",
        },
        monkeypatch,
    )
    assert sorted(message for _, message in violations()) == [
        "digest/web/__init__.py:3: imports digest.cli: entry point web must not import entry point cli",
        "digest/worker.py:1: imports digest.web: entry point worker must not import entry point web",
    ]


if __name__ == "__main__":
    print("\n".join(message for _, message in violations()) or "no layer broken")

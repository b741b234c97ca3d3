"""The floor rule (docs/architecture.md): apps import only downwards.

    config (0) < accounts (1) < billing (2) < apikeys (3) < wallet (4) < dashboard (5)

config/urls.py, wsgi.py and asgi.py are the roof: they may name every app.
Every module is parsed with `ast` (nothing is imported), so the check also
sees imports inside functions, which must not reach another app at all: such
an import is the usual way to hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"config": 0, "accounts": 1, "billing": 2, "apikeys": 3, "wallet": 4, "dashboard": 5}
ROOF = {"config/urls.py", "config/wsgi.py", "config/asgi.py"}


def _modules() -> list[Path]:
    found = []
    for app in FLOORS:
        folder = ROOT / app
        if folder.is_dir():
            found.extend(
                path for path in sorted(folder.rglob("*.py")) if "migrations" not in path.parts
            )
    return found


def _imported_apps(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    else:
        return []
    return [name.split(".")[0] for name in names if name.split(".")[0] in FLOORS]


def imports() -> list[tuple[str, str, str, int, bool]]:
    """(module path, its app, imported app, line, inside a function) for every
    import of one of our apps, the roof excepted."""
    rows = []
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative in ROOF:
            continue
        app = relative.split("/")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        nested: set[int] = set()
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                nested.update(id(inner) for inner in ast.walk(func) if inner is not func)
        for node in ast.walk(tree):
            for target in _imported_apps(node):
                rows.append((relative, app, target, node.lineno, id(node) in nested))
    return rows


def test_the_check_sees_every_app():
    apps = {app for _, app, _, _, _ in imports()}
    assert {"config", "accounts", "billing", "apikeys", "wallet"} <= apps


def test_no_import_runs_up_the_floors():
    upward = [
        f"{path}:{line} imports {target}"
        for path, app, target, line, _ in imports()
        if FLOORS[target] > FLOORS[app]
    ]
    assert upward == []


def test_no_two_apps_import_each_other():
    pairs = {(app, target) for _, app, target, _, _ in imports() if app != target}
    assert sorted(p for p in pairs if (p[1], p[0]) in pairs) == []


def test_no_import_inside_a_function_reaches_another_app():
    hidden = [
        f"{path}:{line} imports {target} inside a function"
        for path, app, target, line, inner in imports()
        if inner and target != app
    ]
    assert hidden == []


def test_the_check_fails_on_an_upward_import(tmp_path, monkeypatch):
    """The check itself goes red on a violation (a fake tree with one)."""
    for app in FLOORS:
        (tmp_path / app).mkdir()
    (tmp_path / "config" / "bad.py").write_text("from accounts.models import User\n")
    (tmp_path / "billing" / "ok.py").write_text(
        "from accounts.models import User\n\ndef f():\n    from wallet import views\n"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    rows = imports()
    assert ("config/bad.py", "config", "accounts", 1, False) in rows
    assert ("billing/ok.py", "billing", "wallet", 4, True) in rows

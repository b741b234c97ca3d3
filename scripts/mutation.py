"""Mutation testing of the modules listed in scripts/mutation.toml.

    .venv/bin/python scripts/mutation.py [--module PATH ...] [--jobs N] [--check]

Why our own mutator rather than a library: mutmut 3 leaves module-level code and
decorated functions alone, and the changes that matter here are mostly module
constants (nonce lifetime, used-nonce marker, checksum base, caps) and
`@lru_cache`/`@property` functions; cosmic-ray reaches them but starts a fresh test
process per mutant, and one pytest + Django start costs 5-15 s on the CI machine,
so a few hundred mutants would not fit a CI step. Here one pytest session
collects the covering tests and sets up the test database once; every mutant runs
in a forked child that swaps the mutated module in and runs those tests, stopping
at the first failure.

Mutants (one change each): comparison operators flipped (< <=, > >=, == !=, in /
not in, is / is not), integer constants +1 and -1 (module constants included),
and/or swapped, `not` dropped, + and - swapped, True/False swapped, max/min
swapped, and each statement in a function body deleted.

A mutant is killed when a covering test fails (or errors, or runs past a timeout
of 3x the clean run plus 20 s). With DATABASE_URL and REDIS_URL set the tests run
on PostgreSQL and Redis, one mutant at a time (they share one database and one
Redis index), and `concurrency` tests take part; `--survivors-of FILE` re-runs
only the mutants a previous run (its --json FILE) left alive, so the second pass
costs little. The score counts the mutants listed as equivalent in the TOML out.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import signal
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this tree's modules, whatever is installed
CONFIG = ROOT / "scripts" / "mutation.toml"

_FLIP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise)


@dataclass
class Mutant:
    module: str  # dotted name
    index: int  # position of the node in ast.walk order
    kind: str
    line: int
    before: str
    after: str
    scope: str
    end_line: int = 0
    in_function: bool = False
    mid: str = ""  # stable id: scope|kind|before->after|n
    status: str = "pending"  # killed | survived | timeout | error | equivalent
    note: str = ""

    def describe(self) -> str:
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.line}: [{self.kind}] {self.before}  ->  {self.after}  ({self.scope}){note}"


@dataclass
class Target:
    path: str
    tests: list[str]
    min_score: float
    equivalent: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


# --- generating mutants -----------------------------------------------------------


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 70 else text[:67] + "..."


def _annotated(tree: ast.Module) -> set[int]:
    """ids of nodes inside annotations and docstrings: never mutated."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
        if isinstance(node, ast.ImportFrom | ast.Import):
            mark(node)
        if isinstance(node, ast.JoinedStr):  # f-string format specs
            mark(node)
    return skip


def _scopes(tree: ast.Module) -> dict[int, str]:
    names: dict[int, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{scope}.{child.name}" if scope != "<module>" else child.name
            names[id(child)] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return names


def _variants(node: ast.AST, parent_fn: bool) -> list[tuple[str, object]]:
    """(kind, how) pairs that apply to `node`; `how` is interpreted by _apply."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIP:
                out.append(("compare", i))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out += [("number", +1), ("number", -1)]
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(("bool", None))
    elif isinstance(node, ast.BoolOp):
        out.append(("andor", None))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not", None))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        out.append(("arith", None))
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"max", "min"}
    ):
        out.append(("maxmin", None))
    if parent_fn and isinstance(node, _DELETABLE):
        out.append(("delete", None))
    return out


def _apply(tree: ast.Module, index: int, kind: str, how: object) -> tuple[str, str]:
    """Mutate the index-th node of `tree` in place; (before, after) for the report."""
    parents: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, ast.AST):
                        parents[id(v)] = (parent, name, i)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (parent, name, None)
    node = list(ast.walk(tree))[index]
    before = _short(node)
    if kind == "compare":
        node.ops[how] = _FLIP[type(node.ops[how])]()  # type: ignore[attr-defined,index]
    elif kind == "number":
        node.value += how  # type: ignore[attr-defined,operator]
    elif kind == "bool":
        node.value = not node.value  # type: ignore[attr-defined]
    elif kind == "andor":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind == "arith":
        node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()  # type: ignore[attr-defined]
    elif kind == "maxmin":
        node.func.id = "min" if node.func.id == "max" else "max"  # type: ignore[attr-defined]
    elif kind in {"not", "delete"}:
        parent, name, i = parents[id(node)]
        if kind == "not":
            replacement: ast.AST = node.operand  # type: ignore[attr-defined]
        else:
            replacement = ast.Pass()
        ast.copy_location(replacement, node)
        if i is None:
            setattr(parent, name, replacement)
        else:
            getattr(parent, name)[i] = replacement
        node = replacement
    after = "<deleted>" if kind == "delete" else _short(node)
    ast.fix_missing_locations(tree)
    return before, after


def mutants_of(target: Target) -> list[Mutant]:
    source = (ROOT / target.path).read_text()
    tree = ast.parse(source)
    skip = _annotated(tree)
    scopes = _scopes(tree)
    in_function: set[int] = set()  # statements directly in a function body
    inside: set[int] = set()  # every node that runs when its function is called
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in node.body)
            for statement in node.body:
                inside.update(id(n) for n in ast.walk(statement))
    found: list[Mutant] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for kind, how in _variants(node, id(node) in in_function):
            copy = ast.parse(source)
            before, after = _apply(copy, index, kind, how)
            scope = scopes.get(id(node), "<module>")
            m = Mutant(
                module=target.module,
                index=index,
                kind=f"{kind}:{how}" if how is not None else kind,
                line=getattr(node, "lineno", 0),
                before=before,
                after=after,
                scope=scope,
                end_line=getattr(node, "end_lineno", None) or getattr(node, "lineno", 0),
                in_function=id(node) in inside,
            )
            key = f"{scope}|{m.kind}|{before}->{after}"
            seen[key] = seen.get(key, 0) + 1
            m.mid = f"{key}|{seen[key]}"
            if m.mid in target.equivalent:
                m.status = "equivalent"
            found.append(m)
    stale = set(target.equivalent) - {m.mid for m in found}
    for mid in sorted(stale):  # the code changed: the listed mutant no longer exists
        print(f"mutation: {target.path}: no mutant {mid!r} (listed as equivalent)")
    return found


def mutated_code(path: str, mutant: Mutant):
    tree = ast.parse((ROOT / path).read_text())
    how: object = None
    kind = mutant.kind
    if ":" in kind:
        kind, raw = kind.split(":")
        how = int(raw)
    _apply(tree, mutant.index, kind, how)
    return compile(tree, str(ROOT / path), "exec", dont_inherit=True)


# --- running them ---------------------------------------------------------------


def swap_module(name: str, code) -> None:
    """Re-run the module's code with the mutation in its own namespace, then point
    every other module's global that named an old object at the new one (so
    `from config.ratelimit import hit` sees the mutant too)."""
    module = importlib.import_module(name)
    old = dict(module.__dict__)
    exec(code, module.__dict__)  # noqa: S102 - the point of the exercise
    changed = {
        k: v for k, v in module.__dict__.items() if k in old and old[k] is not v and k[:2] != "__"
    }
    for other in list(sys.modules.values()):
        namespace = getattr(other, "__dict__", None)
        if other is module or not isinstance(namespace, dict):
            continue
        for k, new in changed.items():
            if namespace.get(k, namespace) is old[k]:
                namespace[k] = new


def _fresh_db_connections() -> None:
    """A forked child must not talk on its parent's PostgreSQL socket: keep the old
    connection object alive (closing it would end the parent's session) and let
    Django open a new one."""
    from django.db import connections

    global _KEEP
    _KEEP = []
    for conn in connections.all(initialized_only=True):
        if conn.vendor != "sqlite" and conn.connection is not None:
            _KEEP.append(conn.connection)
            conn.connection = None


_KEEP: list = []


def _run_items(items, anchor) -> bool:
    from _pytest.runner import runtestprotocol

    for i, item in enumerate(items):
        nextitem = items[i + 1] if i + 1 < len(items) else anchor
        reports = runtestprotocol(item, log=False, nextitem=nextitem)
        if any(r.failed for r in reports):
            return False
    return True


class MutationPlugin:
    def __init__(self, targets: list[Target], args: argparse.Namespace) -> None:
        self.targets = targets
        self.args = args
        self.results: dict[str, list[Mutant]] = {}
        self.baseline_failed = False

    def _items_for(self, session, target: Target) -> list:
        wanted = [str((ROOT / t).resolve()) for t in target.tests]
        ordered = []
        for w in wanted:
            ordered += [i for i in session.items if str(i.path) == w]
        return ordered

    def pytest_configure(self, config):
        # A failing property test would spend long shrinking its example: a mutant
        # needs only the failure. Fixed examples make runs comparable.
        from hypothesis import Phase, settings

        settings.register_profile(
            "mutation",
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            derandomize=True,
            database=None,
            deadline=None,
        )
        settings.load_profile("mutation")

    def pytest_runtestloop(self, session):
        import coverage

        items = session.items
        anchor = items[0]
        started = time.monotonic()
        # Which test runs which line of the targets: a mutant inside a function
        # runs only the tests that reach its lines (coverage's dynamic contexts).
        cov = coverage.Coverage(
            data_file=None, include=[str(ROOT / t.path) for t in self.targets], config_file=False
        )
        cov.start()
        try:
            clean = _run_items_timed(items, anchor, cov)
        finally:
            cov.stop()
        if clean is None:
            self.baseline_failed = True
            print("\nmutation: the tests fail without any mutant; fix them first.", flush=True)
            return True
        print(f"\nmutation: clean run {time.monotonic() - started:.1f}s", flush=True)
        data = cov.get_data()
        for target in self.targets:
            t_items = self._items_for(session, target)
            by_line = data.contexts_by_lineno(str(ROOT / target.path))
            mutants = mutants_of(target)
            if self.args.only is not None:
                keep = set(self.args.only.get(target.path, []))
                for m in mutants:
                    if m.status == "pending" and m.mid not in keep:
                        m.status = "killed-before"
            plan = {}
            for m in mutants:
                if not m.in_function:  # runs at import: every test of the module
                    chosen = t_items
                else:
                    ids = set().union(*(by_line.get(n, ()) for n in range(m.line, m.end_line + 1)))
                    chosen = [i for i in t_items if i.nodeid in ids]
                    if not chosen and m.status == "pending":
                        m.status = "survived"  # no test reaches it
                        m.note = "no test runs this line"
                chosen = sorted(chosen, key=lambda i: clean[i.nodeid])
                plan[m.mid] = (chosen, 3 * sum(clean[i.nodeid] for i in chosen) + 20)
            self._run_target(target, t_items, anchor, mutants, plan)
            self.results[target.path] = mutants
        return True

    def _run_target(self, target, t_items, anchor, mutants, plan) -> None:
        pending = [m for m in mutants if m.status == "pending"]
        running: dict[int, tuple[Mutant, float]] = {}
        started = time.monotonic()
        while pending or running:
            while pending and len(running) < self.args.jobs:
                m = pending.pop(0)
                pid = _fork_mutant(target, m, plan[m.mid][0], anchor)
                running[pid] = (m, time.monotonic())
            time.sleep(0.02)
            for pid, (m, t0) in list(running.items()):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    code = os.waitstatus_to_exitcode(status)
                    m.status = {0: "survived", 1: "killed"}.get(code, "error")
                    del running[pid]
                    print("." if m.status == "killed" else m.status[0].upper(), end="", flush=True)
                elif time.monotonic() - t0 > plan[m.mid][1]:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    m.status = "timeout"
                    del running[pid]
                    print("T", end="", flush=True)
        print(
            f"\nmutation: {target.path}: {len(mutants)} mutants,"
            f" {len(t_items)} tests, {time.monotonic() - started:.0f}s",
            flush=True,
        )


def _run_items_timed(items, anchor, cov) -> dict[str, float] | None:
    from _pytest.runner import runtestprotocol

    times: dict[str, float] = {}
    for i, item in enumerate(items):
        cov.switch_context(item.nodeid)
        t0 = time.monotonic()
        nextitem = items[i + 1] if i + 1 < len(items) else anchor
        reports = runtestprotocol(item, log=False, nextitem=nextitem)
        times[item.nodeid] = time.monotonic() - t0
        failed = [r for r in reports if r.failed]
        if failed:
            print(f"\n{item.nodeid}:\n{failed[0].longreprtext}", flush=True)
            return None
    return times


def _fork_mutant(target: Target, mutant: Mutant, t_items, anchor) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 2
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        _fresh_db_connections()
        try:
            swap_module(target.module, mutated_code(target.path, mutant))
        except Exception:
            os._exit(1)  # the mutant does not even import: killed
        code = 0 if _run_items(t_items, anchor) else 1
    finally:
        os._exit(code)


# --- command line ---------------------------------------------------------------


def load_targets(selected: list[str] | None) -> list[Target]:
    config = tomllib.loads(CONFIG.read_text())
    targets = []
    for entry in config["module"]:
        if selected and entry["path"] not in selected:
            continue
        targets.append(
            Target(
                path=entry["path"],
                tests=entry["tests"],
                min_score=float(entry.get("min_score", 0)),
                equivalent={e["id"]: e["why"] for e in entry.get("equivalent", [])},
            )
        )
    return targets


def report(plugin: MutationPlugin, check: bool) -> int:
    worst = 0
    print()
    rows = []
    for target in plugin.targets:
        mutants = plugin.results.get(target.path, [])
        equivalent = sum(m.status == "equivalent" for m in mutants)
        alive = [m for m in mutants if m.status == "survived"]
        counted = len(mutants) - equivalent
        killed = counted - len(alive)
        score = 100.0 * killed / counted if counted else 100.0
        rows.append((target, killed, counted, equivalent, score))
        if alive:
            print(f"survivors in {target.path}:")
            for m in alive:
                print(f"  {m.describe()}\n      id: {m.mid}")
        if check and score < target.min_score:
            worst = 1
    print("\nmodule                          killed / mutants  (equivalent)  score   minimum")
    for target, killed, counted, equivalent, score in rows:
        print(
            f"{target.path:<32}{killed:>6} / {counted:<7}  ({equivalent:>3})"
            f"         {score:5.1f}%  {target.min_score:5.1f}%"
        )
    if worst:
        print("\nmutation: a module scored below its minimum (scripts/mutation.toml).")
    # Killed and survived, not passed and failed: a survivor within a module's
    # min_score is allowed, and must not read as a failed test run.
    killed = sum(row[1] for row in rows)
    counted = sum(row[2] for row in rows)
    print(f"mutants: {killed} killed, {counted - killed} survived")
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="a path from scripts/mutation.toml")
    parser.add_argument("--jobs", type=int, default=None, help="mutants run at once")
    parser.add_argument("--check", action="store_true", help="exit 1 below min_score")
    parser.add_argument("--json", help="write every mutant's status to this file")
    parser.add_argument("--survivors-of", help="run only the survivors in this --json file")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args()
    services = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))
    if args.jobs is None:
        args.jobs = 1 if services else max(1, min(2, os.cpu_count() or 1))
    if services and args.jobs != 1:
        parser.error("with DATABASE_URL and REDIS_URL set, mutants share one database: --jobs 1")
    targets = load_targets(args.module)
    if not targets:
        parser.error("no such module in scripts/mutation.toml")
    if args.list:
        for t in targets:
            for m in mutants_of(t):
                print(f"{t.path}:{m.describe()}  [{m.status}]\n      id: {m.mid}")
        return 0
    args.only = None
    previous: dict = {}
    if args.survivors_of:
        previous = json.loads(Path(args.survivors_of).read_text())
        args.only = {
            p: [m["id"] for m in ms if m["status"] == "survived"] for p, ms in previous.items()
        }
    for target in targets:  # a file a target names but this tree lacks (measuring an
        # older commit) is left out, and said so
        missing = [t for t in target.tests if not (ROOT / t).exists()]
        for t in missing:
            print(f"mutation: {t} does not exist here; {target.path} runs without it")
        target.tests = [t for t in target.tests if t not in missing]
    # With --survivors-of, a module whose mutants were all killed before keeps its
    # result and costs nothing: only modules with survivors are run again.
    settled = [t for t in targets if args.only is not None and not args.only.get(t.path)]
    running = [t for t in targets if t not in settled]
    plugin = MutationPlugin(running, args)
    if running:
        import pytest

        os.chdir(ROOT)
        tests = sorted({t for target in running for t in target.tests})
        exit_code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[plugin])
        if plugin.baseline_failed or exit_code not in (0, 5) or not plugin.results:
            print(f"mutation: pytest could not run the tests (exit {exit_code})")
            return 2
    for target in settled:
        mutants = mutants_of(target)
        for m in mutants:
            if m.status == "pending":
                m.status = "killed-before"
        plugin.results[target.path] = mutants
    plugin.targets = targets
    if previous:
        for mutants in plugin.results.values():
            for m in mutants:
                if m.status == "killed-before":
                    m.status = "killed"
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    path: [
                        {"id": m.mid, "line": m.line, "status": m.status, "change": m.describe()}
                        for m in ms
                    ]
                    for path, ms in plugin.results.items()
                },
                indent=1,
            )
        )
    return report(plugin, args.check)


if __name__ == "__main__":
    sys.exit(main())

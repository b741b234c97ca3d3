"""Every command block of README.md and docs/*.md runs as written, against a live
server started the way a newcomer starts it (issue 10).

The test copies the working tree (tracked and untracked, not ignored files, so
no .env, database or wallet key) to a temporary directory, links the project's
.venv into it, and runs `make run PORT=<free port>` there: its own .env, its own
SQLite file, the in-process cache; it never touches DATABASE_URL or REDIS_URL, so
it runs in the plain pass only (conftest deselects it, saying so, in the other).
The server gets API_KEY_EXTRA_HEADERS=X-Ethos-Api-Key, as docs/api.md says at
its example. Then each file's blocks run in order in one bash, in the copy,
with the venv not activated and nothing exported. The one substitution: the
docs' port 8000 becomes the server's port (README, "Two commands").
Conventions for blocks and shown output: tests/docs/docblocks.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.docs.docblocks import Block, blocks, mismatch

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
MARK = "@@docs-test@@"

pytestmark = pytest.mark.docs_run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def newcomer_env() -> dict[str, str]:
    """A shell's environment without this project's settings or activated venv."""
    drop = {"DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX", "GATEHOUSE_ENV_FILE", "DEBUG"}
    drop |= {"SECRET_KEY", "APP_URL", "SQLITE_PATH", "DJANGO_SETTINGS_MODULE", "PORT", "HOST"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    path = env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if ".venv" not in p)
    env.pop("VIRTUAL_ENV", None)
    return env


def copy_of_the_tree(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(src.read_bytes())
            target.chmod(src.stat().st_mode)
    (dest / ".venv").symlink_to(ROOT / ".venv")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # make run in the copy would reinstall the shared .venv from the copy (an
    # editable install pointing at a temporary directory) if pyproject.toml changed.
    stamp = ROOT / ".venv" / ".install-stamp"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        pytest.fail("pyproject.toml changed since .venv was installed: run scripts/bootstrap.sh")
    tree = tmp_path_factory.mktemp("fresh-clone")
    copy_of_the_tree(tree)
    port = free_port()
    env = {**newcomer_env(), "API_KEY_EXTRA_HEADERS": "X-Ethos-Api-Key"}
    log = (tree.parent / "make-run.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 120:
                pytest.fail("make run did not serve /healthz:\n" + Path(log.name).read_text())
            time.sleep(0.3)
        yield {"tree": tree, "port": port, "url": url, "log": Path(log.name)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def test_make_run_follows_the_port_and_writes_env(server):
    port, tree = server["port"], server["tree"]
    banner = server["log"].read_text()
    assert f"  Admin:     http://127.0.0.1:{port}/admin/\n" in banner
    assert f"  API docs:  http://127.0.0.1:{port}/api/docs/\n" in banner
    assert f"Starting development server at http://127.0.0.1:{port}/" in banner
    with urllib.request.urlopen(f"{server['url']}/api/auth/siwe/nonce") as r:
        nonce = json.load(r)
    assert (nonce["domain"], nonce["uri"]) == (f"127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    env_file = (tree / ".env").read_text()
    secret = re.search(r"^SECRET_KEY=(\S+)$", env_file, flags=re.M).group(1)
    assert re.search(r"^DEBUG=1$", env_file, flags=re.M)
    assert len(secret) >= 50 and "insecure" not in secret
    assert (tree / ".env").stat().st_mode & 0o077 == 0  # the secret is the owner's only


def test_docs_blocks_run_as_written(server):
    failures = []
    for doc in DOCS:
        found = blocks(doc, (ROOT / doc).read_text())
        failures += run_file(doc, [b for b in found if b.skip is None], server)
    assert not failures, "\n\n".join(failures)


def run_file(doc: str, runnable: list[Block], server) -> list[str]:
    if not runnable:
        return []
    here = "127.0.0.1:8000"
    there = f"127.0.0.1:{server['port']}"
    commands = [(block, c) for block in runnable for c in block.commands]
    script = ["set -eu"]
    for n, (_, command) in enumerate(commands):
        script += [command.text.replace(here, there), f"printf '\\n{MARK} {n}\\n'"]
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=server["tree"],
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    outputs = re.split(rf"\n{MARK} (\d+)\n", "\n" + run.stdout)
    # outputs: [before, "0", text-after-0, "1", ...]: the text before marker n is n's output.
    printed = [outputs[i].removeprefix("\n") for i in range(0, len(outputs) - 1, 2)]
    failures = []
    for n, (block, command) in enumerate(commands):
        where = f"{doc}:{command.line} (block at {block.where})"
        if n >= len(printed):
            failures.append(
                f"{where}: stopped here, exit status {run.returncode}\n$ {command.text}\n"
                f"stdout: {run.stdout[-1500:]}\nstderr: {run.stderr[-1500:]}"
            )
            break
        shown = [line.replace(here, there) for line in command.shown]
        if shown and (problem := mismatch(shown, printed[n])):
            failures.append(f"{where}: {problem}\n$ {command.text}")
    return failures

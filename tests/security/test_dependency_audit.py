"""The CI dependency audit (scripts/audit_deps.py): a found vulnerability fails,
an unreachable advisory source is said plainly and never reported as clean."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"
_spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
audit_deps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_deps)

# Shaped like pip-audit 2.10's JSON report.
VULNERABLE = {
    "dependencies": [
        {
            "name": "django",
            "version": "3.2.0",
            "vulns": [
                {
                    "id": "PYSEC-2021-98",
                    "fix_versions": ["3.2.1"],
                    "aliases": ["CVE-2021-31542"],
                    "description": "path traversal",
                }
            ],
        },
        {"name": "requests", "version": "2.32.5", "vulns": []},
    ],
    "fixes": [],
}
CLEAN = {"dependencies": [{"name": "requests", "version": "2.32.5", "vulns": []}], "fixes": []}
UNANSWERED = {
    "dependencies": [
        {"name": "requests", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    ],
    "fixes": [],
}


def test_found_vulnerability_fails():
    code, lines = audit_deps.classify(VULNERABLE)
    assert code == 1
    assert any("django 3.2.0: PYSEC-2021-98" in line and "3.2.1" in line for line in lines)


def test_clean_report_passes():
    code, lines = audit_deps.classify(CLEAN)
    assert code == 0
    assert lines == ["dependency audit: 1 package(s) audited, no known vulnerabilities."]


def test_unanswered_packages_are_not_reported_clean():
    code, lines = audit_deps.classify(UNANSWERED)
    assert code == 0
    assert lines[0].startswith("NOT AUDITED")
    assert not any("no known vulnerabilities" in line for line in lines)
    assert audit_deps.classify(UNANSWERED, require_source=True)[0] == 3
    partial = {"dependencies": CLEAN["dependencies"] + UNANSWERED["dependencies"]}
    code, lines = audit_deps.classify(partial)
    assert code == 0 and any(line.startswith("NOT AUDITED") for line in lines)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_source_is_said_plainly_and_does_not_fail(tmp_path):
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HTTPS_PROXY": proxy,
        "HTTP_PROXY": proxy,
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "NOT AUDITED" in done.stdout
    assert "no known vulnerabilities" not in done.stdout.lower()
    code, lines = audit_deps.unreachable("ConnectionError: no route", require_source=True)
    assert code == 3 and lines[0].startswith("NOT AUDITED")

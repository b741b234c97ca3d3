#!/usr/bin/env python3
"""Audit the installed dependencies for known vulnerabilities (pip-audit), and say
plainly what was and was not checked.

pip-audit alone prints "No known vulnerabilities found" when the advisory source
answered for none of the packages (unreachable, or a registry mirror without
the JSON API): that reads like a clean result and is not one. This wrapper reads
pip-audit's JSON report and decides:

  exit 1  a known vulnerability was found in an installed package (fails CI);
  exit 0  every package was audited and none has a known vulnerability;
  exit 0  the source could not be reached, or could not answer for some
          packages: the output says "NOT AUDITED" and names them. CI does not
          fail for an unreachable source (builds without internet must pass),
          but never reports it as clean;
  exit 3  the same, when AUDIT_REQUIRE_SOURCE=1 (for a release build that must
          be audited).

Usage: .venv/bin/python scripts/audit_deps.py [extra pip-audit arguments]
AUDIT_SERVICE picks pip-audit's vulnerability service (pypi, the default, or osv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

NOT_AUDITED_EXIT = 3


def classify(report: dict[str, Any], *, require_source: bool = False) -> tuple[int, list[str]]:
    """(exit code, lines to print) for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines: list[str] = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(
                f"VULNERABLE: {dep['name']} {dep.get('version', '?')}: {vuln.get('id', '?')}"
                + (f" ({aliases})" if aliases else "")
                + f"; fixed in: {fixes}"
            )
    if skipped:
        names = ", ".join(f"{d['name']}" for d in skipped[:20])
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        lines.append(
            f"NOT AUDITED: the advisory source gave no answer for {len(skipped)} of "
            f"{len(deps)} packages ({names}{more}); they may have known vulnerabilities."
        )
    if vulnerable:
        lines.append(
            f"dependency audit: {sum(len(d['vulns']) for d in vulnerable)} known "
            f"vulnerabilit(ies) in {len(vulnerable)} package(s) of {len(audited)} audited."
        )
        return 1, lines
    if audited:
        lines.append(
            f"dependency audit: {len(audited)} package(s) audited, no known vulnerabilities."
        )
    if skipped or not audited:
        if not deps:
            lines.append("NOT AUDITED: pip-audit reported no packages at all.")
        return (NOT_AUDITED_EXIT if require_source else 0), lines
    return 0, lines


def unreachable(detail: str, *, require_source: bool) -> tuple[int, list[str]]:
    last = next((line for line in reversed(detail.strip().splitlines()) if line.strip()), "")
    return (NOT_AUDITED_EXIT if require_source else 0), [
        "NOT AUDITED: the advisory source could not be reached, so no dependency was "
        "checked; this is not a clean result.",
        f"pip-audit said: {last[:400]}",
    ]


def main(argv: list[str]) -> int:
    require_source = os.environ.get("AUDIT_REQUIRE_SOURCE") == "1"
    service = os.environ.get("AUDIT_SERVICE", "pypi")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--format",
            "json",
            "--output",
            str(out),
            "--progress-spinner",
            "off",
            "--skip-editable",  # the project itself is not a published package
            "--vulnerability-service",
            service,
            *argv,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        try:
            report = json.loads(out.read_text()) if out.exists() else None
        except ValueError:
            report = None
    if report is None:
        code, lines = unreachable(done.stderr or done.stdout, require_source=require_source)
    else:
        code, lines = classify(report, require_source=require_source)
    print(f"dependency audit ({service}):")
    for line in lines:
        print("  " + line)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

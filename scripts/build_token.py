#!/usr/bin/env python
"""Rebuild billing/contracts/LocalUSDC.json from LocalUSDC.vy.

The compiled artifact is committed so that tests and `make run` need no compiler;
run this after changing the source (needs the optional extra:
`.venv/bin/pip install -e ".[contracts]"`), then commit both files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parent.parent / "billing" / "contracts"
SOURCE = CONTRACTS / "LocalUSDC.vy"
ARTIFACT = CONTRACTS / "LocalUSDC.json"
EVM_VERSION = "cancun"


def main() -> int:
    vyper = Path(sys.executable).with_name("vyper")
    out = subprocess.run(  # noqa: S603 (our own compiler, fixed arguments)
        [str(vyper), "--evm-version", EVM_VERSION, "-f", "abi,bytecode", str(SOURCE)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    version = subprocess.run(  # noqa: S603
        [str(vyper), "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    artifact = {
        "contractName": "LocalUSDC",
        "source": SOURCE.name,
        "compiler": f"vyper {version}",
        "evmVersion": EVM_VERSION,
        "abi": json.loads(out[0]),
        "bytecode": out[1].strip(),
    }
    ARTIFACT.write_text(json.dumps(artifact, indent=1) + "\n")
    print(f"wrote {ARTIFACT.relative_to(CONTRACTS.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""LocalUSDC, the EIP-3009 token of the local chain: Vyper source and its
compiled artifact (rebuilt by scripts/build_token.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ARTIFACT = Path(__file__).resolve().parent / "LocalUSDC.json"


def local_usdc() -> dict[str, Any]:
    """{abi, bytecode, ...} of LocalUSDC."""
    return json.loads(ARTIFACT.read_text())

"""Log lines in development: each once, with the request id (issue 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A development process (DEBUG on, where Django adds a console handler of its own)
# answering one request that django.request logs: a 404.
PROBE = """
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
Client().get("/no-such-page", HTTP_X_REQUEST_ID="req-12345678")
"""


def test_a_warning_is_printed_once_with_its_request_id():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="INFO")
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(" WARNING django.request [req-12345678] Not Found: /no-such-page")

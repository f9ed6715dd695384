"""A real embedded host for the Python client's tests: `agentos serve` on a free loopback port
with a fresh data directory (build it first: `scripts/setup.sh` does)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
BIN = Path(os.environ.get("AGENTOS_BIN", ROOT / "target" / "debug" / "agentos"))


@dataclass
class Host:
    url: str
    token: str


@pytest.fixture(scope="session")
def host() -> Iterator[Host]:
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="agentos-python-e2e-") as data:
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", "0", "--data-dir", data],
            env={**os.environ, "AGENTOS_TOKEN": token},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("AGENTOS_URL="):
                url = line.removeprefix("AGENTOS_URL=").strip()
                break
        assert url, f"{BIN} serve printed no AGENTOS_URL"
        try:
            yield Host(url, token)
        finally:
            process.terminate()
            process.wait(timeout=30)

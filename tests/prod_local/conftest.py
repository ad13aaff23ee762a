"""`make run-prod-local` (deploy/run-prod-local) started as a user would, for the tests of this folder
(marker ``prod_local``: its own CI stage, not `make test`). Needs what the script installs: Debian's
postgresql, redis-server and nginx."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
READY = "run-prod-local: ready on "
START_TIMEOUT_S = 600  # migrations, the demo brand and four workers on a busy 2-core machine


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.prod_local)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Shape:
    """The running shape: nginx's URL, the metrics URL, the script's process, and what it printed on
    standard output (the API instances' log lines) and standard error (the rest)."""

    base_url: str
    metrics_url: str
    process: subprocess.Popen
    stdout: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)

    def listed(self, label: str) -> list[str]:
        """The URLs the script printed on its line ``label`` (e.g. "API instances")."""
        line = next(line for line in self.output if line.strip().startswith(label))
        return [word for word in line.split() if word.startswith("http://")]

    def port_of(self, label: str) -> int:
        """The loopback port on the script's line ``label`` (e.g. "PostgreSQL")."""
        line = next(line for line in self.output if line.strip().startswith(label) and "127.0.0.1:" in line)
        return int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))

    def stop(self, timeout: float = 120) -> int:
        """Ctrl-C, as a user would press it; the script's exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)


@pytest.fixture(scope="package")
def shape():
    port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        ["bash", "deploy/run-prod-local"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PORT": str(port), "METRICS_PORT": str(metrics_port), "PY": str(ROOT / ".venv/bin/python"),
             "RESTART": "unless-stopped"},  # as compose runs it; Ctrl-C must still stop everything
        start_new_session=True)
    running = Shape(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics", process)
    ready = threading.Event()

    def read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if line.startswith(READY):
                ready.set()

    threading.Thread(target=read, args=(process.stdout, running.stdout), daemon=True).start()
    threading.Thread(target=read, args=(process.stderr, running.output), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            pytest.fail("run-prod-local did not get ready:\n" + "\n".join(running.output[-40:]))
    try:
        yield running
    finally:
        running.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever a failed test left behind

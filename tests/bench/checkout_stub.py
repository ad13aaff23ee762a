"""The WeChat stub for the checkout bench, in its own process so its CPU can be told apart.

``python -m tests.bench.checkout_stub SETUP.json`` serves the project's stub (``shop.wechat.stub``:
the mini-program apps and the WeChat Pay merchant of SETUP) on a free loopback port, after handing
out the openids of the bench's shoppers (``openid_for(name, appid)`` for each name, so the stub's
WeChat Pay accepts them as payers), prints its base URL on one line and serves until SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shop.wechat.stub.pay import PayConfig
from shop.wechat.stub.server import WeChatStub

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def main(setup_path: str) -> None:
    setup = json.loads(Path(setup_path).read_text())
    stub = WeChatStub(setup["apps"], pay=PayConfig(**setup["pay"]))
    for name in setup["shoppers"]:
        stub.openid_for(name, setup["pay"]["appid"])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(stub.start("127.0.0.1", 0), flush=True)
    try:
        done.wait()
    finally:
        stub.stop()


@contextmanager
def stub_process(setup: dict[str, Any], workdir: Path) -> Iterator[tuple[str, int]]:
    """Run the stub in a child process; yields (base URL, pid)."""
    setup_path = workdir / "stub.json"
    setup_path.write_text(json.dumps(setup))
    with open(workdir / "stub.log", "ab") as log:
        process = subprocess.Popen([str(PYTHON), "-m", "tests.bench.checkout_stub", str(setup_path)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        line = process.stdout.readline().decode().strip() if process.stdout else ""
        if not line.startswith("http://") or time.monotonic() > deadline:
            raise RuntimeError(f"the WeChat stub did not start; see {workdir / 'stub.log'}")
        yield line, process.pid
    finally:
        process.send_signal(signal.SIGTERM)  # the child we started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main(sys.argv[1])

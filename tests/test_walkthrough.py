"""The README's walk-through (docs/walkthrough.sh) runs against a fresh `make run`, twice, and the README says
only what it runs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app import ROOT
from tests.faults.servers import free_port

SCRIPT = ROOT / "docs" / "walkthrough.sh"
README = ROOT / "README.md"
# What one run of the journey must report, in this order (the script stops at the first answer that is wrong).
JOURNEY = ["Alice logged in", "a store is open now", "ready", "paid, ready for pickup", "56 points earned",
           "picked up", "claimed", "spent online", "redeemed at the counter", "reverted",
           "issued to Alice", "became a coupon", "Bob bound under Alice", "Alice rewarded for Bob's order, frozen",
           "Dora's subtree", "Bob re-bound under Dora", "3 reward levels refused", "walk-through done"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """`make run` on a fresh instance folder: the API and its WeChat stub over real HTTP."""
    instance = tmp_path_factory.mktemp("walkthrough") / "instance"
    port, stub_port = free_port(), free_port()
    env = {**os.environ, "RIPPLE_INSTANCE_PATH": str(instance), "PORT": str(port),
           "WECHAT_STUB_PORT": str(stub_port), "RIPPLE_ENV": "development"}
    for name in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "API", "STUB"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(api, process)
        yield {"API": api, "STUB": f"http://127.0.0.1:{stub_port}"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(api: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "python app.py exited"
        try:
            with urllib.request.urlopen(f"{api}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{api}/readyz did not answer 200 within {seconds} s")


def _walk(urls: dict, cwd: Path) -> subprocess.CompletedProcess:
    # python3 is this interpreter (not a version manager's shim, which costs a second a call on a busy machine)
    env = {**os.environ, **urls, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", str(SCRIPT)], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def _reported(stdout: str) -> list[str]:
    return re.findall(r"^(?:ok: |walk-through done)(.*)$", stdout, re.M)


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("curl"), reason="the walk-through needs bash and curl")
def test_the_walkthrough_runs_on_a_fresh_make_run_and_again_on_the_same_one(made_run, tmp_path):
    for run in ("first", "second"):
        walked = _walk(made_run, tmp_path)
        assert walked.returncode == 0, f"{run} run failed:\n{walked.stderr[-3000:]}"
        lines = [line for line in walked.stdout.splitlines() if line.startswith(("ok: ", "walk-through done"))]
        assert len(lines) == len(JOURNEY), lines
        for line, step in zip(lines, JOURNEY, strict=True):
            assert step in line, (run, line, step)
    assert (tmp_path / "poster.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "codes.csv").read_text().startswith("code,")
    assert (tmp_path / "code.png").read_bytes().startswith(b"\x89PNG")


def _readme_snippets() -> list[str]:
    """The README's shell blocks that call the API ($API): the walk-through's snippets."""
    return [body for lang, body in FENCE.findall(README.read_text())
            if lang in ("sh", "bash") and "$API" in body]


def _missing_lines(snippet: str, script_lines: list[str]) -> list[str]:
    """The snippet's lines that are not lines of the script in the same order."""
    missing, at = [], 0
    for line in filter(None, (line.rstrip() for line in snippet.splitlines())):
        try:
            at = script_lines.index(line, at) + 1
        except ValueError:
            missing.append(line)
    return missing


def test_every_readme_snippet_that_calls_the_api_is_a_part_of_the_walkthrough():
    script_lines = [line.rstrip() for line in SCRIPT.read_text().splitlines()]
    snippets = _readme_snippets()
    assert len(snippets) >= 4  # the quick start's sections at least
    for snippet in snippets:
        assert not _missing_lines(snippet, script_lines), _missing_lines(snippet, script_lines)


def test_the_readme_calls_the_api_only_through_the_walkthrough_variables():
    """No snippet that would not run: a fixed host (instead of $API), a made-up id, a placeholder, uuidgen."""
    for lang, body in FENCE.findall(README.read_text()):
        if lang not in ("sh", "bash"):
            continue
        for line in body.splitlines():
            if line.lstrip().startswith("#"):
                continue
            code = re.split(r"\s#\s", line)[0]
            assert not re.search(r"\bcurl\b.*\blocalhost:", code), line
            assert "uuidgen" not in code, line
            assert not re.search(r"<[A-Z_]+>", code), line

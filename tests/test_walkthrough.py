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
# The pages a new user copies commands from: the README, then the guides it links, in that order.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# What one run of the journey must report, in this order (the script stops at the first answer that is wrong).
JOURNEY = ["Alice logged in", "a store is open now", "ready", "paid, ready for pickup", "56 points earned",
           "picked up", "claimed", "spent online", "14 yuan off two lattes", "redeemed at the counter", "reverted",
           "issued to Alice", "second-latte-half-price batch", "became a coupon", "Bob bound under Alice", "Alice rewarded for Bob's order, frozen",
           "Dora's subtree", "Bob re-bound under Dora", "3 reward levels refused", "walk-through done"]
WITHDRAWALS = ["Alice's commission available", "paid", "rejected"]
JOURNEY_WITH_WITHDRAWALS = JOURNEY[:JOURNEY.index("Dora's subtree") + 1] + WITHDRAWALS + JOURNEY[
    JOURNEY.index("Dora's subtree") + 1:]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """`make run` on a fresh instance folder: the API and its WeChat stub over real HTTP."""
    instance = tmp_path_factory.mktemp("walkthrough") / "instance"
    port, stub_port = free_port(), free_port()
    env = {**_without_database_settings(os.environ), "RIPPLE_INSTANCE_PATH": str(instance), "PORT": str(port),
           "WECHAT_STUB_PORT": str(stub_port), "RIPPLE_ENV": "development"}
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(api, process)
        # RIPPLE_INSTANCE_PATH: the script's `flask` commands work on this instance, as they would on `make run`'s
        yield {"API": api, "STUB": f"http://127.0.0.1:{stub_port}", "RIPPLE_INSTANCE_PATH": str(instance)}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(api: str, process: subprocess.Popen, seconds: float = 180) -> None:
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


def _walk(instance: dict) -> subprocess.CompletedProcess:
    # python3 is this interpreter (not a version manager's shim, which costs a second a call on a busy machine)
    env = {**_without_database_settings(os.environ), **instance,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", str(SCRIPT)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)


def _without_database_settings(environ) -> dict:
    """The environment of `make run`: its own SQLite and embedded Redis, whatever the suite runs on."""
    return {name: value for name, value in environ.items()
            if name not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "API", "STUB")}


def _reported(stdout: str) -> list[str]:
    return re.findall(r"^(?:ok: |walk-through done)(.*)$", stdout, re.M)


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("curl"), reason="the walk-through needs bash and curl")
def test_the_walkthrough_runs_on_a_fresh_make_run_and_again_on_the_same_one(made_run, downloads):
    # The withdrawals once only: their two `flask` commands cost seconds each.
    for run, withdrawals, journey in (("first", "no", JOURNEY), ("second", "yes", JOURNEY_WITH_WITHDRAWALS)):
        walked = _walk({**made_run, "WALKTHROUGH_WITHDRAWALS": withdrawals})
        assert walked.returncode == 0, f"{run} run failed:\n{walked.stderr[-3000:]}"
        lines = [line for line in walked.stdout.splitlines() if line.startswith(("ok: ", "walk-through done"))]
        assert len(lines) == len(journey), lines
        for line, step in zip(lines, journey, strict=True):
            assert step in line, (run, line, step)
    assert downloads["poster.png"].read_bytes().startswith(b"\x89PNG")
    assert downloads["code.png"].read_bytes().startswith(b"\x89PNG")
    assert downloads["codes.csv"].read_text().startswith("code,")


@pytest.fixture
def downloads():
    """The files the walk-through downloads into the repository's folder (git ignores them), removed afterwards."""
    files = {name: ROOT / name for name in ("poster.png", "code.png", "codes.csv")}
    yield files
    for path in files.values():
        path.unlink(missing_ok=True)


def _shell_blocks() -> list[str]:
    return [body for page in PAGES for lang, body in FENCE.findall(page.read_text()) if lang in ("sh", "bash")]


def _readme_snippets() -> list[str]:
    """The shell blocks of the README and the guides that call the API ($API): the walk-through's snippets."""
    return [body for body in _shell_blocks() if "$API" in body]


def _commands_and_comments(snippet: str) -> list[str]:
    """The snippet's lines but the example answers ("# -> ..." and the "#   ..." lines that go on with them)."""
    return [line for line in (line.rstrip() for line in snippet.splitlines())
            if line and not line.startswith(("# ->", "#  "))]


def _missing_lines(snippet: str, script_lines: list[str]) -> list[str]:
    """The snippet's lines that are not lines of the script in the same order."""
    missing, at = [], 0
    for line in _commands_and_comments(snippet):
        try:
            at = script_lines.index(line, at) + 1
        except ValueError:
            missing.append(line)
    return missing


def test_every_readme_snippet_that_calls_the_api_is_a_part_of_the_walkthrough():
    script_lines = [line.rstrip() for line in SCRIPT.read_text().splitlines()]
    snippets = _readme_snippets()
    assert len(snippets) >= 4  # the quick start's sections at least
    missing = [line for snippet in snippets for line in _missing_lines(snippet, script_lines)]
    assert not missing, "\n".join(missing)


def test_the_readme_calls_the_api_only_through_the_walkthrough_variables():
    """No snippet that would not run: a fixed host (instead of $API), a made-up id, a placeholder, uuidgen."""
    for body in _shell_blocks():
        for line in body.splitlines():
            if line.lstrip().startswith("#"):
                continue
            code = re.split(r"\s#\s", line)[0]
            assert not re.search(r"\bcurl\b.*\blocalhost:", code), line
            assert "uuidgen" not in code, line
            assert not re.search(r"<[A-Z_]+>", code), line


def test_the_readme_snippets_pasted_in_order_define_every_variable_before_they_use_it():
    defined = {"PATH", "HOME"}
    for snippet in _readme_snippets():
        for line in _commands_and_comments(snippet):
            if line.lstrip().startswith("#"):
                continue
            defined |= set(re.findall(r"(?:^|[;(]\s*)([A-Za-z_]\w*)=", line))
            defined |= set(re.findall(r"^([a-z_]+)\(\)", line))
            used = set(re.findall(r"\$\{?([A-Za-z_]\w*)", line))
            assert used <= defined, (line, used - defined)

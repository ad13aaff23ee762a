"""A pytest plugin: no secret the test run created may appear in the logs the run wrote.

Every log record of the run (each xdist worker's too) is written, as the production JSON formatter
writes it, to a file of the run. Meanwhile the plugin remembers the secrets the run made or used, as
a client sees them: tokens issued, codes shown or typed (login, phone, coupon, pickup, member,
exchange codes), phone numbers, passwords, and the keys in each app's configuration. When the run
ends, it fails if any of them appears in any log line, naming the test that wrote it.

Values are looked up in the set of the logs' words, so the scan stays linear in the size of the logs.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.config import SETTINGS
from shop.request_log import JsonLogFormatter, RequestContext

# What a client sends or is shown that must never be logged, by field name.
SENT_SECRETS = frozenset({"code", "pickup_code", "member_code", "coupon_code", "password", "new_password",
                          "current_password", "old_password", "phone", "token"})
SHOWN_SECRETS = frozenset({"token", "pickup_code", "member_code", "coupon_code", "phone"})
CONFIG_SECRETS = frozenset({s.name for s in SETTINGS if s.secret} | {"WECHATPAY_APIV3_KEY"})
MIN_LENGTH = 6  # shorter values are common words and numbers: no evidence either way
WORD = re.compile(r"[A-Za-z0-9_.~:-]+")
EDGES = "._~:-"
STATE = pytest.StashKey["LogScan"]()


class LogScan:
    """One process's share of the run: its log file and the secrets it saw."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.values: dict[str, str] = {}  # value -> what it is
        self.seen_configs: set[int] = set()
        self.log_path = directory / f"logs-{name}.jsonl"
        self.values_path = directory / f"values-{name}.json"
        self.handler = logging.FileHandler(self.log_path, encoding="utf-8")
        self.handler.setFormatter(JsonLogFormatter())
        self.handler.addFilter(RequestContext())

    def remember(self, kind: str, value: object) -> None:
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            if len(text) >= MIN_LENGTH and "*" not in text:  # a masked phone shows only what may be shown
                self.values.setdefault(text, kind)

    def remember_fields(self, body: object, names: frozenset[str], side: str) -> None:
        if isinstance(body, dict):
            for key, value in body.items():
                if key in names:
                    self.remember(f"{key} ({side})", value)
                else:
                    self.remember_fields(value, names, side)
        elif isinstance(body, list):
            for item in body:
                self.remember_fields(item, names, side)

    def remember_config(self, config) -> None:
        if id(config) in self.seen_configs:
            return
        self.seen_configs.add(id(config))
        for name in CONFIG_SECRETS:
            self.remember(f"setting {name}", config.get(name))

    def mark_test(self, nodeid: str) -> None:
        with self.handler.lock:
            self.handler.stream.write(f"#test {nodeid}\n")

    def save_values(self) -> None:
        self.values_path.write_text(json.dumps(self.values))


def _observe_client(scan: LogScan):
    """Wrap the test client: what each request sent and each answer showed is remembered (observed only).

    A run inside this one (pytester) wraps Flask's own method, not ours: its secrets are its own.
    """
    original = FlaskClient.open
    flasks_own = getattr(original, "flasks_own", original)

    def open_and_remember(self, *args, **kwargs):
        response = flasks_own(self, *args, **kwargs)
        scan.remember_config(self.application.config)
        for body in (kwargs.get("json"), kwargs.get("data")):
            scan.remember_fields(body, SENT_SECRETS, "sent")
        if response.is_json and response.status_code < 400:
            body = response.get_json(silent=True)
            scan.remember_fields(body, SHOWN_SECRETS, "shown")
            if isinstance(body, dict) and response.request.path.endswith(("/code", "/member-code")):
                scan.remember("code (shown)", body.get("code"))
        scan.remember("X-Member-Code (shown)", response.headers.get("X-Member-Code"))
        return response

    open_and_remember.flasks_own = flasks_own
    FlaskClient.open = open_and_remember
    return original


def pytest_configure(config) -> None:
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        directory, name = Path(worker_input["log_scan_dir"]), worker_input["workerid"]
    else:
        directory, name = Path(tempfile.mkdtemp(prefix="ripple-log-scan-")), "main"
    scan = LogScan(directory, name)
    config.stash[STATE] = scan
    logging.getLogger().addHandler(scan.handler)
    scan.original_open = _observe_client(scan)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: each worker writes into the run's folder."""
    node.workerinput["log_scan_dir"] = str(node.config.stash[STATE].directory)


def pytest_runtest_setup(item) -> None:
    item.config.stash[STATE].mark_test(item.nodeid)


@pytest.fixture
def sensitive_value(request):
    """Remember a secret a test made by other means than the test client: ``sensitive_value(kind, value)``."""
    return request.config.stash[STATE].remember


def pytest_sessionfinish(session) -> None:
    scan = session.config.stash[STATE]
    logging.getLogger().removeHandler(scan.handler)
    scan.handler.close()
    FlaskClient.open = scan.original_open
    scan.save_values()
    if hasattr(session.config, "workerinput"):
        return  # the controller scans every worker's files once all are done
    scan.findings = find_leaks(scan.directory)
    if scan.findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(scan.directory, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, config) -> None:
    findings = getattr(config.stash.get(STATE, None), "findings", None)
    if findings:
        terminalreporter.section("secrets in the logs", red=True)
        for test, kind, line in findings[:20]:
            terminalreporter.line(f"{test}: a {kind} in: {line[:300]}")
        terminalreporter.line(f"({len(findings)} line(s); the run's logs are in {config.stash[STATE].directory})")


def _ordinary(text: str) -> bool:
    """A value that could be any text's word (a test's wrong password "password", a code "xxxxxxxx"):
    found in the logs it proves nothing."""
    return text.isalpha() and text.islower() or len(set(text)) < 4


def _words(text: str) -> set[str]:
    words = set()
    for word in WORD.findall(text):
        words.add(word)
        words.add(word.strip(EDGES))
        words.update(word.split(":"))
    return words


def find_leaks(directory: Path) -> list[tuple[str, str, str]]:
    """(test, what, line) for every log line of the run that holds a remembered secret."""
    values: dict[str, str] = {}
    for path in directory.glob("values-*.json"):
        values.update((value, kind) for value, kind in json.loads(path.read_text()).items() if not _ordinary(value))
    logs = [path.read_text(encoding="utf-8") for path in sorted(directory.glob("logs-*.jsonl"))]
    plain = {value for value in values if WORD.fullmatch(value)}
    odd = [value for value in values if value not in plain]  # spaces, quotes, newlines: searched as text
    # Once, not once per remembered value; the lines naming each test are the scan's own, not logs.
    words = set().union(*(_words(line) for text in logs for line in text.splitlines() if not line.startswith("#test ")))
    suspects = plain & words
    suspects |= {value for value in odd if any(value in text for text in logs)}
    if not suspects:
        return []
    findings = []
    for text in logs:
        test = "(before the first test)"
        for line in text.splitlines():
            if line.startswith("#test "):
                test = line.removeprefix("#test ")
                continue
            found = next((value for value in suspects if value in line and (value not in plain or value in _words(line))),
                         None)
            if found is not None:
                findings.append((test, values[found], line))
    return findings

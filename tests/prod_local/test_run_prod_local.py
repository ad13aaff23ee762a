"""The production shape on one machine: a shopper's calls go through nginx to either API instance, the
stub stands in for WeChat, and Ctrl-C leaves nothing running."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

from tests.test_metrics_exposition import scraped


def login(shape, code: str) -> dict:
    answer = requests.post(f"{shape.base_url}/api/v1/auth/wechat-login", json={"code": code}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_shopper_logs_in_through_nginx_and_claims_a_demo_coupon(shape):
    token = login(shape, "prodlocal:1")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    batches = requests.get(f"{shape.base_url}/api/v1/coupon-batches", headers=headers, timeout=60)
    assert batches.status_code == 200 and batches.json()["total"] >= 1, batches.text
    batch_id = batches.json()["items"][0]["batch"]["id"]

    claimed = requests.post(f"{shape.base_url}/api/v1/coupon-batches/{batch_id}/claim",
                            headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=60)
    assert claimed.status_code == 201, claimed.text
    wallet = requests.get(f"{shape.base_url}/api/v1/me/coupons", headers=headers, timeout=60).json()
    assert claimed.json()["id"] in [coupon["id"] for coupon in wallet["items"]]  # beside the welcome coupon


def test_nginx_gives_every_answer_a_request_id_and_keeps_a_sane_one(shape):
    made = requests.get(f"{shape.base_url}/healthz", timeout=60)
    kept = requests.get(f"{shape.base_url}/healthz", headers={"X-Request-ID": "load-test-0001"}, timeout=60)
    assert len(made.headers["X-Request-ID"]) >= 16
    assert kept.headers["X-Request-ID"] == "load-test-0001"


def test_what_nginx_refuses_itself_is_a_json_error_not_its_html_page(shape):
    too_large = requests.post(f"{shape.base_url}/api/v1/events", data=b"x" * (2 * 1024 * 1024),
                              headers={"Content-Type": "application/json"}, timeout=60)
    assert too_large.status_code == 413 and too_large.headers["Content-Type"].startswith("application/json")
    assert too_large.json()["code"] == "payload_too_large" and too_large.headers["X-Request-ID"]


def test_the_metrics_count_what_both_instances_answered(shape):
    before = scraped(shape.metrics_url, "ripple_http_requests_total", endpoint="/healthz", status="200")
    for _ in range(20):
        assert requests.get(f"{shape.base_url}/healthz", timeout=60).status_code == 200

    assert scraped(shape.metrics_url, "ripple_http_requests_total", endpoint="/healthz", status="200") >= before + 20
    assert requests.get(f"{shape.base_url}/metrics", timeout=60).status_code == 404  # never on the public port


def test_the_api_logs_on_standard_output_are_json_lines_with_request_ids(shape):
    requests.get(f"{shape.base_url}/healthz", headers={"X-Request-ID": "log-check-0001"}, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in shape.stdout if line.startswith("{")]
        if any(line.get("request_id") == "log-check-0001" for line in lines):
            return
        time.sleep(0.5)
    raise AssertionError("no JSON log line carries the request id: " + "\n".join(shape.stdout[-10:]))


def test_the_docs_are_public_and_both_instances_serve(shape):
    assert requests.get(f"{shape.base_url}/docs", timeout=60).status_code == 200
    instances = shape.listed("API instances")
    assert len(instances) == 2
    for instance in instances:
        assert requests.get(f"{instance}readyz", timeout=60).status_code == 200


def test_a_killed_api_instance_is_started_again_while_nginx_sends_to_the_other(shape):
    pids = Path(next(word for line in shape.output if line.strip().startswith("process ids")
                     for word in line.split() if word.endswith("/pids/")))
    second = shape.listed("API instances")[1]
    master = int((pids / "api-2.pid").read_text())
    doomed = [master, *subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()]
    for pid in doomed:
        os.kill(int(pid), signal.SIGKILL)  # its machine lost: no graceful shutdown

    for _ in range(20):
        assert requests.get(f"{shape.base_url}/healthz", timeout=60).status_code == 200
    deadline = time.monotonic() + 300  # booting an instance on a busy 2-core machine
    while time.monotonic() < deadline:
        # Refused until its master binds the port; then held in the backlog until a worker has loaded the app.
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            if requests.get(f"{second}readyz", timeout=10).status_code == 200:
                break
        time.sleep(1)
    else:
        raise AssertionError("api-2 was not started again:\n" + "\n".join(shape.output[-20:]))
    assert int((pids / "api-2.pid").read_text()) != master
    assert shape.process.poll() is None


def test_ctrl_c_stops_every_process_of_the_shape(shape):
    addresses = [shape.base_url + "/", *shape.listed("API instances"), *shape.listed("WeChat stub")]

    stores = [shape.port_of("PostgreSQL"), shape.port_of("Redis")]

    assert shape.stop() == 130
    for port in stores:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens after Ctrl-C"
    for address in addresses:
        try:
            requests.get(f"{address}healthz", timeout=5)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{address} still answers after Ctrl-C")
    deadline = time.monotonic() + 15  # a log prefixer reads to the end of its pipe a moment after its process
    while time.monotonic() < deadline:
        try:
            os.killpg(shape.process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    left = subprocess.run(["ps", "-o", "pid,args", "-g", str(shape.process.pid)], capture_output=True, text=True)
    raise AssertionError(f"processes of the shape still run 15 s after Ctrl-C:\n{left.stdout}")

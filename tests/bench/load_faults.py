"""Faults in the production shape during the load (issue 18): ``LOAD_FAULTS=1 bash tests/bench/load_run``.

`make load-faults`. tests/bench/journey_load.py starts `make run-prod-local` with RESTART=unless-stopped
(an API instance, the worker or the scheduler that dies is started again, as compose's restart policy
does) and, while locust runs the journey, this module injects one fault after another, each followed by
recovery time:

1. ``api_worker_killed``: kill -9 of one gunicorn worker of api-1; its master starts another.
2. ``api_instance_killed``: kill -9 of api-2's master and workers (its machine lost); nginx sends
   everything to api-1 until api-2 is started again and ready.
3. ``redis_restarted_empty``: Redis shut down without saving, down FAULT_REDIS_DOWN_S, started empty
   on the same port: the coupon gate, the nearby index and the rate limits heal from the database, the
   RQ queues are gone (the outbox sweep queues its work again).
4. ``rq_worker_killed``: kill -9 of the RQ worker (and a job it is running); started again.
5. ``wechat_pay_failing``: every WeChat Pay API call answers 500 SYSTEM_ERROR for FAULT_PAY_DOWN_S (the
   stub's ``/stub/pay/faults``); shoppers tap pay again (LOAD_PAY_RETRY_S) and pay once it is back.

After the load and a settle period (until the scheduler has swept once more and the outbox has no due
work left, at most SETTLE_S) the load's invariants are checked, plus:

- ``faults_5xx_other_than_503``: answers 5xx other than a 503 with Retry-After, per fault and step
  (and outside every fault's window);
- ``recovered``: after the last fault's window, no failures and every step the journey made before the
  first fault answers again;
- ``outbox_work_not_lost``: no outbox entry due and not picked up, or still running past its lease.

Each fault is a figure with its times and what the load saw in its window (answers and failures by step
and status). Times are seconds from the start of the load.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import redis
import requests
from sqlalchemy import create_engine, text

FIRST_FAULT_AFTER_S = float(os.environ.get("FAULT_FIRST_AFTER_S", 20))
RECOVERY_S = float(os.environ.get("FAULT_RECOVERY_S", 8))  # between one fault's window and the next fault
AFTER_RECOVERED_S = float(os.environ.get("FAULT_WINDOW_AFTER_S", 8))  # a fault's window goes on this long after
REDIS_DOWN_S = float(os.environ.get("FAULT_REDIS_DOWN_S", 4))
PAY_DOWN_S = float(os.environ.get("FAULT_PAY_DOWN_S", 15))
MIN_TAIL_S = 10  # the load after the last fault's window, to see it recovered
TAIL_S = float(os.environ.get("FAULT_TAIL_S", 30))  # the load is ended this long after the last fault's window
BACK_TIMEOUT_S = 180  # a killed part must be back within this
SETUP = "setup: "
KILLS = {"api_worker_killed", "api_instance_killed"}
CUT_OFF_S = 2  # a 502 this soon after a kill -9 of an API process: a request it was serving, lost with it
RETRIES = {"pay again"}  # a step only a fault makes the journey take


def log(message: str) -> None:
    print(f"load-faults: {message}", file=sys.stderr, flush=True)


class Parts:
    """Where run-prod-local's parts are: their pid files, the instances' ports, Redis, the stub."""

    def __init__(self, output: list[str], listed) -> None:
        line = next(line for line in output if line.strip().startswith("process ids"))
        self.pids = Path(next(word for word in line.split() if word.endswith("/pids/")))
        self.instances = [url.rstrip("/") for url in
                          next(line for line in output if line.strip().startswith("API instances")).split()
                          if "://" in url]
        self.redis_url = listed("Redis")
        self.stub_url = listed("WeChat stub").rstrip("/")

    def pid(self, name: str) -> int:
        return int((self.pids / f"{name}.pid").read_text().strip())


def wait_for(check, timeout: float, what: str) -> float:
    """Poll ``check`` until true; the time it became true."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return time.time()
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come back within {timeout:.0f} s")


def kill_api_worker(parts: Parts) -> dict[str, Any]:
    master = running_part(parts, "api-1")
    workers = master.children()
    victim = workers[0].pid
    started = time.time()
    os.kill(victim, signal.SIGKILL)
    back = wait_for(lambda: len([w for w in master.children() if w.pid != victim]) >= len(workers),
                    BACK_TIMEOUT_S, "api-1's worker")
    return {"started": started, "recovered": back, "detail": f"api-1 worker pid {victim} of {len(workers)}"}


def kill_api_instance(parts: Parts) -> dict[str, Any]:
    master = running_part(parts, "api-2")
    master_pid = master.pid
    victims = [master, *master.children(recursive=True)]
    started = time.time()
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    readyz = f"{parts.instances[1]}/readyz"
    back = wait_for(lambda: parts.pid("api-2") != master_pid and requests.get(readyz, timeout=2).status_code == 200,
                    BACK_TIMEOUT_S, "api-2")
    return {"started": started, "recovered": back,
            "detail": f"api-2 master {master_pid} and {len(victims) - 1} workers; restarted as {parts.pid('api-2')}"}


def restart_redis_empty(parts: Parts) -> dict[str, Any]:
    address = urlsplit(parts.redis_url)
    client = redis.Redis(host=address.hostname, port=address.port, socket_timeout=5)
    pidfile, logfile = client.config_get("pidfile")["pidfile"], client.config_get("logfile")["logfile"]
    keys = client.dbsize()
    started = time.time()
    with contextlib.suppress(redis.ConnectionError):
        client.shutdown(nosave=True)
    wait_for(lambda: not psutil.pid_exists(pid_of(pidfile)), 30, "Redis's shutdown")
    time.sleep(max(started + REDIS_DOWN_S - time.time(), 0))
    subprocess.run(["redis-server", "--port", str(address.port), "--bind", "127.0.0.1", "--save", "",  # noqa: S607
                    "--appendonly", "no", "--daemonize", "yes", "--pidfile", pidfile, "--logfile", logfile],
                   check=True)
    back = wait_for(client.ping, 30, "Redis")
    return {"started": started, "recovered": back, "detail": f"{keys} keys lost; down {REDIS_DOWN_S:.0f} s"}


def pid_of(pidfile: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(Path(pidfile).read_text().strip())
    return -1


def running_part(parts: Parts, name: str) -> psutil.Process:
    """The part's live process (a part run-prod-local is starting again has a stale pid file for a moment)."""
    wait_for(lambda: psutil.pid_exists(parts.pid(name)), 60, name)
    return psutil.Process(parts.pid(name))


def kill_rq_worker(parts: Parts) -> dict[str, Any]:
    worker = running_part(parts, "worker")
    worker_pid = worker.pid
    victims = [worker, *worker.children(recursive=True)]  # a work horse running a job dies with it
    started = time.time()
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    back = wait_for(lambda: parts.pid("worker") != worker_pid and psutil.pid_exists(parts.pid("worker")),
                    BACK_TIMEOUT_S, "the RQ worker")
    return {"started": started, "recovered": back,
            "detail": f"worker {worker_pid} ({len(victims) - 1} work horses); restarted as {parts.pid('worker')}"}


def fail_wechat_pay(parts: Parts) -> dict[str, Any]:
    started = time.time()
    armed = requests.post(f"{parts.stub_url}/stub/pay/faults", timeout=10,
                          json={"status": 500, "code": "SYSTEM_ERROR", "times": 1_000_000, "path": "/v3/"})
    armed.raise_for_status()
    time.sleep(PAY_DOWN_S)
    requests.delete(f"{parts.stub_url}/stub/pay/faults", timeout=10).raise_for_status()
    return {"started": started, "recovered": time.time(), "detail": f"every /v3/ call 500 for {PAY_DOWN_S:.0f} s"}


FAULTS = [("api_worker_killed", kill_api_worker), ("api_instance_killed", kill_api_instance),
          ("redis_restarted_empty", restart_redis_empty), ("rq_worker_killed", kill_rq_worker),
          ("wechat_pay_failing", fail_wechat_pay)]


class Schedule(threading.Thread):
    """The faults one after another while the load runs (started with it); each one's record."""

    def __init__(self, parts: Parts, load_started: float, load_ends: float) -> None:
        super().__init__(daemon=True)
        self.parts, self.load_started, self.load_ends = parts, load_started, load_ends
        self.records: list[dict[str, Any]] = []
        self.error: str | None = None
        self.load: subprocess.Popen | None = None

    def stop_with(self, load: subprocess.Popen) -> None:
        """The load's process: ended (SIGTERM) TAIL_S after the last fault's window."""
        self.load = load

    def run(self) -> None:
        self.inject_all()
        time.sleep(TAIL_S)
        if self.load is not None and self.load.poll() is None:
            log(f"ending the load {TAIL_S:.0f} s after the last fault")
            self.load.send_signal(signal.SIGTERM)

    def inject_all(self) -> None:
        next_at = self.load_started + FIRST_FAULT_AFTER_S
        for name, inject in FAULTS:
            time.sleep(max(next_at - time.time(), 0))
            if time.time() > self.load_ends - MIN_TAIL_S:
                self.error = f"no time left for {name} (raise LOAD_SECONDS)"
                log(self.error)
                return
            log(f"{name}")
            try:
                record = inject(self.parts)
            except Exception as error:  # noqa: BLE001 - a fault that could not be injected is reported
                self.error = f"{name}: {type(error).__name__}: {error}"
                log(self.error)
                return
            record["window_end"] = record["recovered"] + AFTER_RECOVERED_S
            self.records.append({"fault": name, **record})
            log(f"{name}: back after {record['recovered'] - record['started']:.1f} s ({record['detail']})")
            next_at = record["window_end"] + RECOVERY_S


def read_events(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def bad_5xx(event: dict[str, Any]) -> bool:
    return event["status"] >= 500 and not (event["status"] == 503 and event["retry_after"])


def failures_by_step(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{step: {status: count}} of the failed answers (status 0: no answer, or the journey could not go on)."""
    found: dict[str, Counter] = defaultdict(Counter)
    for event in events:
        if not event["ok"]:
            found[event["step"]][str(event["status"])] += 1
    return {step: dict(counts) for step, counts in sorted(found.items())}


def analyse(events: list[dict[str, Any]], records: list[dict[str, Any]], load_started: float,
            load_ended: float) -> list[dict[str, Any]]:
    """A figure per fault (what the load saw in its window), the 5xx check, and the recovery check."""
    figures, in_window = [], set()
    rel = lambda t: round(t - load_started, 1)  # noqa: E731
    for record in records:
        seen = [e for e in events if record["started"] <= e["t"] <= record["window_end"]]
        in_window.update(id(e) for e in seen)
        figures.append({
            "figure": "fault", "fault": record["fault"], "detail": record["detail"],
            "at_s": rel(record["started"]), "back_after_s": round(record["recovered"] - record["started"], 1),
            "window_s": [rel(record["started"]), rel(record["window_end"])],
            "answers": len(seen), "failures": sum(not e["ok"] for e in seen),
            "answers_503_with_retry_after": sum(e["status"] == 503 and e["retry_after"] for e in seen),
            "answers_5xx_other": sum(bad_5xx(e) for e in seen),
            "failures_by_step_and_status": failures_by_step(seen)})
    outside = [e for e in events if id(e) not in in_window]
    bad, cut_off = defaultdict(Counter), Counter()
    for record in records:
        for e in events:
            if not (record["started"] <= e["t"] <= record["window_end"] and bad_5xx(e)):
                continue
            if record["fault"] in KILLS and e["status"] == 502 and e["t"] <= record["started"] + CUT_OFF_S:
                cut_off[f"{record['fault']}: {e['step']}"] += 1
            else:
                bad[record["fault"]][f"{e['step']} {e['status']}"] += 1
    for e in outside:
        if bad_5xx(e):
            bad["outside fault windows"][f"{e['step']} {e['status']}"] += 1
    figures.append({"figure": "faults_5xx_other_than_503", "violations": sum(sum(c.values()) for c in bad.values()),
                    "examples": [f"{where}: {dict(counts)}" for where, counts in bad.items()],
                    "cut_off_by_kill": sum(cut_off.values()), "cut_off_by_step": dict(cut_off),
                    "note": f"not counted: a 502 within {CUT_OFF_S} s of a kill -9 of an API process, its request "
                            "lost with the process (nginx passes on only what it had not sent, or a GET)"})
    figures.append({"figure": "failures_outside_fault_windows", "value": sum(not e["ok"] for e in outside),
                    "by_step_and_status": failures_by_step(outside)})
    failed = [e for e in events if not e["ok"]]
    figures.append({"figure": "failed_answers", "count": len(failed), "first_300": [
        [rel(e["t"]), e["step"], e["status"], e.get("error", "")[:140]] for e in failed[:300]]})
    figures.append(recovery(events, records, load_started, load_ended))
    return figures


def recovery(events: list[dict[str, Any]], records: list[dict[str, Any]], load_started: float,
             load_ended: float) -> dict[str, Any]:
    """After the last fault's window: no failure, and every step made before the first fault answers again."""
    if len(records) < len(FAULTS):
        return {"figure": "recovered", "violations": 1, "examples": ["not every fault was injected"]}
    first, last = records[0]["started"], records[-1]["window_end"]
    before = {e["step"] for e in events if e["t"] < first and e["ok"]} - RETRIES
    before = {step for step in before if not step.startswith(SETUP)}
    tail = [e for e in events if e["t"] > last]
    answered = {e["step"] for e in tail if e["ok"]}
    missing = sorted(before - answered)
    failed = failures_by_step(tail)
    tail_s = round(load_ended - last, 1)
    problems = ([f"no answer from: {', '.join(missing)}"] if missing else []) + \
               ([f"failures: {failed}"] if failed else []) + \
               ([f"only {tail_s} s of load after the last fault"] if tail_s < MIN_TAIL_S else [])
    return {"figure": "recovered", "violations": len(problems), "examples": problems, "tail_s": tail_s,
            "tail_answers": len(tail), "steps_answering": len(answered & before), "steps_expected": len(before)}


OUTBOX_DUE = """
    SELECT id, kind, status, attempts, next_attempt_at, lease_until FROM outbox
    WHERE (status = 'pending' AND next_attempt_at <= now() - interval '5 seconds')
       OR (status = 'running' AND lease_until <= now() - interval '5 seconds')
    ORDER BY id"""


def outbox_state(database_url: str) -> tuple[list[Any], dict[str, int]]:
    """Entries due but not picked up (or running past their lease), and every entry counted by status."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            due = [tuple(r) for r in connection.execute(text(OUTBOX_DUE))]
            counts = {status: n for status, n in connection.execute(
                text("SELECT status, count(*) FROM outbox GROUP BY status"))}
            return due, counts
    finally:
        engine.dispose()


def sweeps_seen(output: list[str]) -> int:
    return sum(1 for line in output if re.match(r"\[scheduler\] \d{4}-\d\d-\d\dT", line))


def settle(output: list[str], database_url: str, seconds: float) -> dict[str, Any]:
    """Wait until the scheduler swept after the load and no outbox work is due (at most ``seconds``)."""
    sweeps, started = sweeps_seen(output), time.time()
    due: list[Any] = []
    while time.time() - started < seconds:
        due, _ = outbox_state(database_url)
        if sweeps_seen(output) > sweeps and not due:
            break
        time.sleep(3)
    due, counts = outbox_state(database_url)
    return {"figure": "settle", "seconds": round(time.time() - started, 1),
            "scheduler_swept_after_load": sweeps_seen(output) > sweeps, "outbox_by_status": counts,
            "due": due}


def outbox_figure(settled: dict[str, Any]) -> dict[str, Any]:
    due = settled.pop("due")
    return {"figure": "outbox_work_not_lost", "violations": len(due), "examples": [str(entry) for entry in due[:5]],
            "note": "an entry running within its lease (OUTBOX_LEASE_SECONDS, a killed job's) is taken again after it"}

"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

gthread workers: requests overlap while one waits on PostgreSQL, Redis or WeChat (on 2 cores,
2 workers x 4 threads served 4x the requests of 2 sync workers on a 5 ms I/O endpoint).
Every setting can be overridden from the environment (GUNICORN_*).

Shutdown (SIGTERM): each worker fails ``/readyz`` at once, keeps serving for SHUTDOWN_DRAIN_SECONDS
(so a load balancer that polls readiness stops sending first), then stops accepting and closes its
listening sockets, so a new connection is refused at once instead of waiting in the backlog until
the worker exits and being reset; the requests in flight finish. ``graceful_timeout`` counts from
the SIGTERM: keep it above the drain plus the longest request.

Metrics: every worker writes its own to PROMETHEUS_MULTIPROC_DIR (a new temporary folder when unset,
emptied at start); the master serves them all on METRICS_HOST:METRICS_PORT, never on the app's port,
and forgets a worker's live gauges when it exits (shop/metrics.py, docs/metrics.md).
"""

import multiprocessing
import os
import select
import signal
import tempfile
import threading

# All interfaces by default: in a container the port is only reachable as published (nginx in front).
bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}")  # noqa: S104
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Recycling a worker costs a few seconds of its CPU: only often enough to bound slow leaks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = 20000
# nginx in front keeps the access log; writing it here too cost ~12% of a worker's CPU on the
# nearby search (measured by the nearby benchmark's profile). GUNICORN_ACCESSLOG=- turns it on.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# The app is loaded once, in the master, before it listens: an instance that restarts refuses connections
# (nginx passes them to the other instance at once) until it can answer, instead of taking them into its
# backlog while its workers import the app (on a busy machine that outlasted nginx's read timeout: 504s in
# the production-shape faults run). A killed worker is replaced by a fork, in milliseconds.
preload_app = True
# gunicorn's control socket (one path per user) is not used, and several instances on one machine
# (`make run-prod-local`) would fight over it.
control_socket_disable = True
# Trust X-Forwarded-* from the local nginx only.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Set before any worker loads prometheus_client (it picks its storage then); kept across a reload.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ripple-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_starting(server):
    """Forget what the workers of an earlier start counted (their pids are gone)."""
    from shop.metrics import clear_multiprocess_dir  # noqa: PLC0415 - the master imports the app's code only here

    clear_multiprocess_dir()


def when_ready(server):
    """Serve every worker's metrics from the master, on their own port."""
    from shop.metrics import serve  # noqa: PLC0415

    serve(server.app.wsgi().config, who="gunicorn")  # the app loaded (preload_app), its settings checked


def child_exit(server, worker):
    """A worker that exited no longer counts in the live gauges."""
    from prometheus_client import multiprocess  # noqa: PLC0415

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """Database connections the master opened while loading the app stay its own: each worker opens its own."""
    from shop.extensions import forget_inherited_connections  # noqa: PLC0415

    forget_inherited_connections(server.app.wsgi())


def post_worker_init(worker):
    """Shut down as the docstring above says (on gthread workers, whose event loop this relies on)."""
    from shop.health import start_draining  # noqa: PLC0415 - the app is loaded by now, with its sys.path

    if not hasattr(worker, "set_accept_enabled"):
        return
    drain = float(getattr(worker.wsgi, "config", {}).get("SHUTDOWN_DRAIN_SECONDS") or 0)
    if drain >= worker.cfg.graceful_timeout:
        worker.log.warning("SHUTDOWN_DRAIN_SECONDS (%s) >= graceful_timeout (%s): requests in flight at the end "
                           "of the drain will be killed", drain, worker.cfg.graceful_timeout)
    set_accept_enabled = worker.set_accept_enabled

    def accept_or_close(enabled):
        set_accept_enabled(enabled)
        if not enabled and not worker.alive:  # the loop has ended: nothing will accept on them again
            _close_listeners(worker)

    def on_sigterm(signum, frame):
        start_draining()
        if drain <= 0:
            worker.handle_exit(signum, frame)
            return
        timer = threading.Timer(drain, worker.handle_exit, (signum, None))
        timer.daemon = True
        timer.start()

    worker.set_accept_enabled = accept_or_close
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)


def _close_listeners(worker):
    """Serve the connections already waiting in the backlog, then close the listening sockets.

    The socket is shared with the other workers: it refuses connections once all have closed it
    (the arbiter closed its own on the SIGTERM).
    """
    for listener in worker.sockets:
        for _ in range(1024):
            if not select.select([listener], [], [], 0)[0]:
                break
            worker.accept(listener)
        listener.close()

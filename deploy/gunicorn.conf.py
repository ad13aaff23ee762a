"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

gthread workers: requests overlap while one waits on PostgreSQL, Redis or WeChat (on 2 cores,
2 workers x 4 threads served 4x the requests of 2 sync workers on a 5 ms I/O endpoint).
Every setting can be overridden from the environment (GUNICORN_*).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Recycling a worker costs a few seconds of its CPU: only often enough to bound slow leaks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = 20000
# nginx in front keeps the access log; writing it here too cost ~12% of a worker's CPU on the
# nearby search (measured by the nearby benchmark's profile). GUNICORN_ACCESSLOG=- turns it on.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# Trust X-Forwarded-* from the local nginx only.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

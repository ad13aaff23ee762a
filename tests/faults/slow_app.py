"""What test_shutdown.py serves under gunicorn (``tests.faults.slow_app:create()``): the app from the
environment, plus a slow view that only the tests have (product code has none). The view counts its
start in Redis, so the test knows when the request is in flight. SLOW_APP_LOAD_SECONDS makes loading the
app take that much longer, as importing it does on a busy machine."""

import os
import time

from flask import Flask, request

from app import create_app
from shop.extensions import redis_client

STARTED_KEY = "test:slow-requests-started"


def create() -> Flask:
    time.sleep(float(os.environ.get("SLOW_APP_LOAD_SECONDS", "0")))
    app = create_app()

    @app.get("/test/slow")
    def slow():
        redis_client().incr(STARTED_KEY)
        seconds = float(request.args["seconds"])
        time.sleep(seconds)
        return {"slept": seconds}

    return app

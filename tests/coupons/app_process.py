"""One more app server process for tests: ``python -m tests.coupons.app_process``.

Reads the app's configuration as JSON from ``RIPPLE_TEST_APP_CONFIG`` (the test session's database
and Redis, never migrated here), serves ``create_app`` threaded on a free loopback port, prints the
port on the first line of stdout and serves until terminated.
"""

import json
import logging
import os
import sys

from werkzeug.serving import make_server

from app import create_app


def main() -> None:
    """Serve the app on 127.0.0.1 at a port of the system's choosing; print it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output
    app = create_app(json.loads(os.environ["RIPPLE_TEST_APP_CONFIG"]))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    sys.stdout.close()  # nothing else goes there: the parent stops reading after the port
    server.serve_forever()


if __name__ == "__main__":
    main()

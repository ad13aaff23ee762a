"""The run's own check (tests/log_scan.py): a secret the tests made that shows up in a log line fails the
run, naming the test; a run whose logs hold none passes."""

from __future__ import annotations

LEAKY_VIEW = '''
import logging

from flask import Flask


def test_a_view_that_logs_the_token_it_issues():
    app = Flask("tiny")

    @app.post("/login")
    def login():
        logging.getLogger("tiny").warning("issued %s", "tk-0123456789abcdef")
        return {"token": "tk-0123456789abcdef"}

    assert app.test_client().post("/login", json={"password": "pw-not-logged-1"}).status_code == 200
'''

CAREFUL_VIEW = LEAKY_VIEW.replace('"issued %s", "tk-0123456789abcdef"', '"issued a token"')

LEAKY_CALL = '''
import logging


def test_a_log_call_with_a_password(sensitive_value):
    sensitive_value("password", "s3cret-pass-word")
    logging.getLogger("shop.staff").warning("login refused for %s", "s3cret-pass-word")
'''


def _run(pytester, source: str):
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_inprocess("-p", "tests.log_scan", "-p", "no:cacheprovider")


def test_a_token_the_test_client_was_shown_then_found_in_a_log_line_fails_the_run(pytester):
    result = _run(pytester, LEAKY_VIEW)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*secrets in the logs*",
                                 "test_inner.py::test_a_view_that_logs_the_token_it_issues: a token (shown) in:*"])


def test_a_password_remembered_by_hand_then_logged_fails_the_run(pytester):
    result = _run(pytester, LEAKY_CALL)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_a_log_call_with_a_password: a password in:*login refused*"])


def test_a_run_whose_logs_hold_no_secret_passes(pytester):
    result = _run(pytester, CAREFUL_VIEW)
    assert result.ret == 0
    assert "secrets in the logs" not in result.stdout.str()

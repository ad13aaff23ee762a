"""DATABASE_REPLICA_URL: the reports (referral analytics, batch stats, the CRM reports, segment previews) read the
replica, in a session of their own that sees committed rows only and writes nothing; every write, and every
other read, stays on the primary. Without the setting the primary serves them (the rest of the suite)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func, insert, make_url, select, text
from sqlalchemy.exc import DBAPIError

from coupons.batches import service as batches
from coupons.batches import stats
from coupons.batches.schemas import BatchArgs
from coupons.models import Coupon
from shop.auth import Role
from shop.config import REPLICA_BIND, ConfigError, load_config
from shop.extensions import db
from shop.members.models import Member
from shop.replica import reading_replica
from shop.wiring import POOL_PING_AFTER_IDLE_S
from tests.coupons.conftest import batch_body
from tests.factories import make_store
from tests.test_config_and_health import PRODUCTION_ENV

PRIMARY = "postgresql+psycopg://ripple@primary/ripple"
REPLICA = "postgresql+psycopg://reports@standby/ripple"
PERIOD = "from=2026-12-01T00:00:00%2B08:00&to=2026-12-08T00:00:00%2B08:00"
DAYS = "from=2026-12-01&to=2026-12-07"


# --- the setting ----------------------------------------------------------------------------------

def test_the_replica_gets_the_primary_s_connection_handling_and_read_only_snapshots():
    config = load_config(environ={"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA})
    replica = config["SQLALCHEMY_BINDS"][REPLICA_BIND]
    assert replica["url"] == REPLICA
    assert replica["connect_args"] == config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "connect_timeout": 2, "options": "-c jit=off"}
    assert replica["isolation_level"] == "REPEATABLE READ"
    assert replica["execution_options"] == {"postgresql_readonly": True}
    pooled = load_config(environ={"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA,
                                  "DATABASE_TRANSACTION_POOLING": "true"})
    assert pooled["SQLALCHEMY_BINDS"][REPLICA_BIND]["connect_args"] == {"connect_timeout": 2, "prepare_threshold": None}


def test_without_a_replica_there_is_no_second_engine():
    assert "SQLALCHEMY_BINDS" not in load_config(environ={"DATABASE_URL": PRIMARY})


def test_a_url_s_own_startup_options_are_kept_beside_jit_off():
    config = load_config(environ={"DATABASE_URL": PRIMARY + "?options=-c%20statement_timeout%3D5s",
                                  "DATABASE_REPLICA_URL": REPLICA + "?application_name=reports"})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] == "-c jit=off -c statement_timeout=5s"
    assert config["SQLALCHEMY_BINDS"][REPLICA_BIND]["connect_args"]["options"] == "-c jit=off"


def test_production_refuses_a_sqlite_replica_and_accepts_none():
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL"):
        load_config(environ={**PRODUCTION_ENV, "DATABASE_REPLICA_URL": "sqlite:///reports.db"})
    assert load_config(environ=PRODUCTION_ENV)["DATABASE_REPLICA_URL"] is None
    assert load_config(environ={**PRODUCTION_ENV, "DATABASE_REPLICA_URL": REPLICA})["DATABASE_REPLICA_URL"] == REPLICA


def test_the_report_endpoints_document_the_replica_s_503_and_lag(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, method in (("/api/v1/admin/coupon-batches/{batch_id}/stats", "get"), ("/api/v1/admin/funnel", "get"),
                         ("/api/v1/admin/referral/stats/ripple", "get"), ("/api/v1/admin/segments/preview", "post")):
        unavailable = paths[path][method]["responses"]["503"]
        assert unavailable["x-codes"] == ["service_unavailable"], path
        assert "DATABASE_REPLICA_URL" in unavailable["description"] and "lag" in unavailable["description"], path


# --- reading through it ---------------------------------------------------------------------------

def _replica_url(primary_url: str, **query: str) -> str:
    """The suite's database again, as the replica (SQLite: the same file)."""
    url = make_url(primary_url)
    return (url.update_query_dict(query) if url.get_backend_name() == "postgresql" else url).render_as_string(
        hide_password=False)


@contextmanager
def statements_on(engine: Engine) -> Iterator[list[str]]:
    """The SQL ``engine`` sends while the block runs."""
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _shopper_member_id(client) -> int:
    response = client.post("/api/v1/auth/wechat-login", json={"code": f"replica-{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["member"]["id"]


def _reports(batch_id: int, store_id: int, member_id: int) -> dict[str, tuple[str, str, dict | None, set[str]]]:
    """Each report endpoint: method, path, body, and the tables the primary may read for it (the account
    check, and a batch's existence: a batch created a moment ago may not be on the replica yet)."""
    account = {"staff_accounts"}
    return {
        "batch stats": ("GET", f"/api/v1/admin/coupon-batches/{batch_id}/stats", None, account | {"coupon_batches"}),
        "top sharers": ("GET", f"/api/v1/admin/referral/stats/top-sharers?{PERIOD}", None, account),
        "share figures": ("GET", f"/api/v1/admin/referral/stats/shares?{PERIOD}", None, account),
        "campaign figures": ("GET", f"/api/v1/admin/referral/stats/campaigns?{PERIOD}", None, account),
        "k-factor": ("GET", f"/api/v1/admin/referral/stats/k-factor?{PERIOD}", None, account),
        "ripple": ("GET", f"/api/v1/admin/referral/stats/ripple?{PERIOD}", None, account),
        "subtree": ("GET", f"/api/v1/admin/referral/members/{member_id}/subtree", None, account),
        "funnel": ("GET", f"/api/v1/admin/funnel?{DAYS}", None, account),
        "campaign report": ("GET", f"/api/v1/admin/campaigns/spring?{DAYS}", None, account),
        "stores ranked": ("GET", f"/api/v1/admin/stores/o2o?{DAYS}", None, account),
        "a store's o2o": ("GET", f"/api/v1/admin/stores/{store_id}/o2o?{DAYS}", None, account),
        "segment preview": ("POST", "/api/v1/admin/segments/preview",
                            {"rule": {"field": "order_count", "op": "=", "value": 0}}, account),
    }


@pytest.fixture
def replica_app(app, make_app):
    """An app whose replica is the suite's database again, through connections named for this test and, on
    PostgreSQL, read-only by the server's own default (the URL's startup options)."""
    name = f"ripple-replica-{uuid.uuid4().hex[:8]}"
    url = _replica_url(app.config["DATABASE_URL"], application_name=name,
                       options="-c default_transaction_read_only=on")
    replica = make_app(DATABASE_REPLICA_URL=url)
    replica.config["TEST_REPLICA_NAME"] = name
    yield replica
    with replica.app_context():
        db.engines[REPLICA_BIND].dispose()


def _backends_named(app, name: str) -> list[str]:
    """The last statement of each server connection with this application_name (pg_stat_activity)."""
    with app.app_context():
        queries = db.session.scalars(text("SELECT query FROM pg_stat_activity WHERE application_name = :name"),
                                     {"name": name}).all()
        db.session.rollback()
        return queries


def test_every_report_reads_through_the_replica_url_while_writes_go_to_the_primary(replica_app, staff_token):
    if replica_app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the replica's own connections are told apart on PostgreSQL (application_name)")
    client, name = replica_app.test_client(), replica_app.config["TEST_REPLICA_NAME"]
    marketing = staff_token(Role.MARKETING)
    created = client.post("/api/v1/admin/coupon-batches", json=batch_body(), headers=marketing)
    assert created.status_code == 201, created.get_json()  # a write, with the replica set: the primary took it
    with replica_app.app_context():
        store_id = make_store().id
        db.session.commit()
        primary, replica = db.engines[None], db.engines[REPLICA_BIND]
        assert db.session.connection().scalar(text("SHOW default_transaction_read_only")) == "off"
        db.session.rollback()
    assert _backends_named(replica_app, name) == []  # nothing has used the replica yet
    reports = _reports(created.get_json()["id"], store_id, _shopper_member_id(client))
    for report, (method, path, body, primary_may_read) in reports.items():
        with statements_on(primary) as on_primary, statements_on(replica) as on_replica:
            response = client.open(path, method=method, json=body, headers=marketing)
        assert response.status_code == 200, (report, response.get_json())
        assert on_replica, f"{report} sent nothing to the replica"
        strays = [s for s in on_primary if not any(table in s for table in primary_may_read)]
        assert strays == [], f"{report} read the primary: {strays}"
    served = _backends_named(replica_app, name)
    assert served and all(query.lstrip().upper().startswith(("SELECT", "WITH", "BEGIN", "ROLLBACK")) for query in served)
    with replica_app.app_context(), replica.connect() as connection:  # the URL's options reached the server
        assert connection.scalar(text("SHOW default_transaction_read_only")) == "on"
        assert connection.scalar(text("SHOW jit")) == "off"
    again = client.post(f"/api/v1/admin/coupon-batches/{created.get_json()['id']}/activate", headers=marketing)
    assert again.status_code == 200, again.get_json()  # writes after the reports: still the primary's


def _uncommitted_coupon(batch_id: int) -> None:
    now = datetime.now(UTC)
    member = Member(openid=f"openid-{uuid.uuid4().hex[:8]}", nickname="pending")
    db.session.add(member)
    db.session.flush()
    db.session.add(Coupon(batch_id=batch_id, member_id=member.id, sequence=1, issue_number=1, claim_day=now.date(),
                          source="public", status="available", valid_from=now, expires_at=now + timedelta(days=7),
                          claimed_at=now))
    db.session.flush()


def test_a_report_sees_committed_rows_only_never_the_request_s_unfinished_writes(app, replica_app, staff_token):
    created = replica_app.test_client().post("/api/v1/admin/coupon-batches", json=batch_body(),
                                             headers=staff_token(Role.MARKETING))
    batch_id = created.get_json()["id"]
    with replica_app.app_context():
        _uncommitted_coupon(batch_id)
        request_session = db.session()
        assert stats.batch_stats(batch_id, now=datetime.now(UTC))["issued"] == 0  # the replica: committed rows
        assert db.session() is request_session  # the request's own session again, its write still pending
        assert db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.batch_id == batch_id)) == 1
        db.session.rollback()
    with app.app_context():  # without a replica the report is read in the request's session, as before
        _uncommitted_coupon(batch_id)
        assert stats.batch_stats(batch_id, now=datetime.now(UTC))["issued"] == 1
        db.session.rollback()


def test_a_batch_made_a_moment_ago_not_yet_on_the_replica_has_zero_figures_not_a_404(replica_app):
    """The batch a stats request names is looked up on the primary (here: not even committed, as if the replica
    had not caught up); its figures come from the replica."""
    with replica_app.app_context():
        batch = batches.create_batch(BatchArgs().load(batch_body()), staff_id=None, now=datetime.now(UTC))
        figures = stats.batch_stats(batch.id, now=datetime.now(UTC))
        assert figures["issued"] == 0 and figures["redeemed_in_store_by_store"] == []
        assert [day["claimed"] for day in stats.batch_days(batch.id, now=datetime.now(UTC))] == [0] * stats.DAYS_SHOWN
        db.session.rollback()


def test_the_reports_transaction_is_read_only_and_one_snapshot_even_on_a_writable_replica_url(app, make_app):
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("READ ONLY and REPEATABLE READ transactions are PostgreSQL's")
    writable = make_app(DATABASE_REPLICA_URL=app.config["DATABASE_URL"])
    with writable.app_context():
        with reading_replica():
            assert db.session.scalar(text("SHOW transaction_isolation")) == "repeatable read"
            with pytest.raises(DBAPIError) as refused:
                db.session.execute(insert(Member).values(openid="written-by-a-report", nickname="x"))
        assert refused.value.orig.sqlstate == "25006"  # read_only_sql_transaction
        assert db.session.scalar(select(func.count()).select_from(Member)
                                 .where(Member.openid == "written-by-a-report")) == 0
        db.session.rollback()
        db.engines[REPLICA_BIND].dispose()


def test_a_report_answers_through_the_replica_also_on_sqlite_where_it_is_the_same_file(replica_app, staff_token):
    """SQLite has no replication: there the setting may name the same file (for trying it out; a copy would go
    stale)."""
    client = replica_app.test_client()
    marketing = staff_token(Role.MARKETING)
    batch_id = client.post("/api/v1/admin/coupon-batches", json=batch_body(), headers=marketing).get_json()["id"]
    with replica_app.app_context(), statements_on(db.engines[REPLICA_BIND]) as on_replica:
        answer = client.get(f"/api/v1/admin/coupon-batches/{batch_id}/stats", headers=marketing)
    assert answer.status_code == 200 and answer.get_json()["issued"] == 0
    assert on_replica


def test_a_replica_connection_that_died_while_idle_is_replaced_before_a_report_uses_it(replica_app):
    """As the primary's pool (tests/test_connection_pool.py): a standby restarted overnight costs no report."""
    with replica_app.app_context():
        replica = db.engines[REPLICA_BIND]
        replica.dispose()
        with replica.connect() as connection:
            dead, record = connection.connection.dbapi_connection, connection.connection._connection_record
        dead.close()
        record.info["idle_since"] -= POOL_PING_AFTER_IDLE_S + 1
        with replica.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
            assert connection.connection.dbapi_connection is not dead


def test_a_report_the_standby_cancels_for_replication_answers_503_to_ask_again(replica_app, staff_token):
    """A hot standby cancels a query whose rows the primary's changes replace (SQLSTATE 40001, "conflict with
    recovery"): the report answers 503 with Retry-After (it was a 500), and the next one reads as usual."""
    if replica_app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("a recovery conflict is PostgreSQL's")
    cancelled = []

    def standby_cancels_once(connection, cursor, statement, parameters, context, executemany):
        if cancelled or not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return statement, parameters
        cancelled.append(statement)
        return ("DO $$ BEGIN RAISE EXCEPTION 'canceling statement due to conflict with recovery' "
                "USING ERRCODE = 'serialization_failure'; END $$"), {}

    client, marketing = replica_app.test_client(), staff_token(Role.MARKETING)
    with replica_app.app_context():
        replica = db.engines[REPLICA_BIND]
    event.listen(replica, "before_cursor_execute", standby_cancels_once, retval=True)
    try:
        first = client.get(f"/api/v1/admin/funnel?{DAYS}", headers=marketing)
    finally:
        event.remove(replica, "before_cursor_execute", standby_cancels_once)
    assert cancelled
    assert (first.status_code, first.get_json()["code"]) == (503, "service_unavailable")
    assert first.headers["Retry-After"]
    assert client.get(f"/api/v1/admin/funnel?{DAYS}", headers=marketing).status_code == 200

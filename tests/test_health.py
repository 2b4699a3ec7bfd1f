"""GET /healthz: the load balancer's and docker's view of whether Hearth can serve."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

pytestmark = pytest.mark.django_db


def healthz(client: Client):
    response = client.get("/healthz")
    return response, json.loads(response.content)


def test_healthy_when_database_and_broker_answer(client):
    response, body = healthz(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert body == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_needs_no_login_and_sets_no_session(client):
    response, _body = healthz(client)

    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_503_when_the_broker_is_down(client, settings, caplog):
    # Nothing listens on port 1: a real refused connection, no mock.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response, body = healthz(client)

    assert response.status_code == 503
    assert body == {"status": "down", "database": "ok", "broker": "down"}
    assert "broker down" in caplog.text  # the reason goes to the log, not the wire


def test_503_when_the_database_is_down(monkeypatch):
    """Each thread opens its own database connection from the settings. A request served on a
    fresh thread whose settings point at a database that cannot be opened sees a real failure,
    while the test's own connection stays untouched."""
    broken = dict(connections.settings["default"])
    if connection.vendor == "sqlite":
        broken["NAME"] = "/nonexistent-directory/hearth.sqlite3"
    else:
        broken.update(HOST="127.0.0.1", PORT="1")
    monkeypatch.setitem(connections.settings, "default", broken)
    outcome = {}

    def serve():
        try:
            outcome["response"], outcome["body"] = healthz(Client())
        finally:
            connection.close()

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(timeout=30)

    assert outcome["response"].status_code == 503
    assert outcome["body"] == {"status": "down", "database": "down", "broker": "ok"}

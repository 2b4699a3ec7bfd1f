"""One real Celery worker, one real broker, one shared database: the task's effect is seen in the
rows, not in a mock. Redis when REDIS_URL is set (CI); otherwise kombu's filesystem transport in a
temporary folder, exactly as `make run` uses it on a bare laptop."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from members import services
from members.models import Invitation, Role
from tests.members.factories import CommunityFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.integration

WORKER_START_TIMEOUT = 30  # seconds; a cold worker imports Django and Celery in 2-5 s
TASK_TIMEOUT = 30
REPO = Path(settings.BASE_DIR)


def _database_url() -> str:
    """The URL of the database this test is using *now*, i.e. the test database.

    pytest-django swaps `connection.settings_dict["NAME"]` to the test database's name when it
    creates it (`test_hearth` on PostgreSQL; on SQLite config.settings.test makes it a *file*,
    .run/test.sqlite3, instead of the usual in-memory database, precisely so another process can
    open it). The worker's own settings would point at the development database, so it gets this
    URL in DATABASE_URL, which config.settings.base reads first."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    assert connection.vendor == "postgresql", connection.vendor
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    at = "@" if credentials else ""
    return f"postgres://{credentials}{at}{host}{port}/{quote(db['NAME'], safe='')}"


def _reset_producer_pools(app: Celery) -> None:
    """Forget pooled broker connections, so the next publish uses the current transport options."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for the worker, and this process's Celery app pointed at the same broker.

    With Redis both sides already share REDIS_URL (the test waits for its own invitation only, so
    a message someone else left in the queue costs time, not correctness). With the filesystem
    transport the queue is a folder: this test's own, so messages from `make run` or earlier runs
    never reach this worker, and this worker never takes the developer's."""
    env = {"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}
    if settings.REDIS_URL:
        yield env
        return
    broker_dir = tmp_path / "broker"
    options = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }
    for key in ("data_folder_in", "control_folder"):
        os.makedirs(options[key], exist_ok=True)
    previous = celery_app.conf.broker_transport_options
    celery_app.conf.broker_transport_options = options
    _reset_producer_pools(celery_app)
    try:
        yield {**env, "HEARTH_BROKER_DIR": str(broker_dir)}
    finally:
        celery_app.conf.broker_transport_options = previous
        _reset_producer_pools(celery_app)


@pytest.fixture
def worker(transactional_db: None, broker_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """A real `celery worker` process on the test database; yields the path of its log."""
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        **broker_env,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(settings.CELERY_TASK_QUEUES_NAMES),
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--hostname",
        f"hearth-test-{uuid.uuid4().hex[:8]}@%h",
        # The filesystem transport has no broadcast exchange; on Redis, skipping the cluster
        # handshake saves a couple of seconds and keeps a developer's own worker out of it.
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while "ready." not in log_path.read_text():
            if process.poll() is not None:
                pytest.fail(f"the worker exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the worker was not ready in {WORKER_START_TIMEOUT}s:\n{_tail(log_path)}"
                )
            time.sleep(0.1)
        yield log_path
        if process.poll() is not None:
            pytest.fail(f"the worker died during the test:\n{_tail(log_path)}")
    finally:
        # SIGTERM is Celery's warm shutdown: the solo pool finishes the task in hand and exits,
        # closing its database connections (PostgreSQL cannot drop the test database otherwise).
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text().splitlines()[-lines:])


def test_worker_sends_the_invitation_and_marks_it_sent_in_the_database(worker: Path) -> None:
    community = CommunityFactory(slug="acme", name="Acme Community")
    admin = UserFactory(email="admin@acme.test")
    MembershipFactory(user=admin, community=community, role=Role.ADMIN)

    # transactional_db: the service's transaction really commits, so its on_commit hook really
    # publishes members.tasks.invitation_send to the broker, and the worker can see the row.
    invitation, _raw = services.invitation_create(
        actor=admin, community=community, email="new@acme.test", role=Role.MODERATOR
    )
    assert Invitation.objects.get(pk=invitation.pk).sent_at is None

    deadline = time.monotonic() + TASK_TIMEOUT
    while not Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=False).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"sent_at not set within {TASK_TIMEOUT}s; worker log:\n{_tail(worker)}")
        time.sleep(0.2)

    log = worker.read_text()
    assert "members.tasks.invitation_send" in log
    assert "succeeded" in log, _tail(worker)

"""The Celery app, configured from Django settings (the CELERY_ prefix)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("hearth")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_configure.connect
def _declare_queues(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.conf.task_queues = [Queue(name) for name in settings.CELERY_TASK_QUEUES_NAMES]
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        # kombu's filesystem transport keeps messages in plain folders that must exist; it has no
        # broadcast exchange, so remote control stays off on a bare laptop.
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)
        sender.conf.worker_enable_remote_control = False


app.autodiscover_tasks()

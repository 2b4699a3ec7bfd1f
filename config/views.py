"""Site-wide endpoints that belong to no app: the health check and the error pages."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from kombu import Connection

logger = logging.getLogger("hearth.health")


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:  # any failure means "down"; the reason goes to the log, not the wire
        logger.warning("health check: database down", exc_info=True)
        return "down"


def _broker() -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            # One immediate retry, not kombu's default 2 s back-off: the check must answer fast.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception:
        logger.warning("health check: broker down", exc_info=True)
        return "down"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """`{"status": "ok", "database": "ok", "broker": "ok"}`; 503 when a dependency is down."""
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )


def _error(request: HttpRequest, status: int, template: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        messages = {
            403: "You do not have permission to do this.",
            404: "Not found.",
            400: "Bad request.",
            500: "Server error.",
        }
        return JsonResponse(
            {
                "code": {
                    403: "permission_denied",
                    404: "not_found",
                    400: "bad_request",
                    500: "server_error",
                }[status],
                "message": messages[status],
                "errors": {},
            },
            status=status,
        )
    return render(request, template, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "400.html")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "403.html")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _error(request, 500, "500.html")
    # The 500 page renders without context processors: the database may be what failed.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)

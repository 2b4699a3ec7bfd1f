"""Production settings refuse to start when misconfigured, each time saying what to fix, and
pass Django's deployment checks when configured. Each case boots Django in a fresh process
with a clean environment, as a container would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DJANGO_SECRET_KEY": "p8Qv3kXz-7bLr2Nw9Ty4Hc6Jm1Sd5Fg0Ak8Ue3Wi7Oq2Ze9Xn4Rb6Vt1Ys5Pl0Mh",
    "DJANGO_ALLOWED_HOSTS": "hearth.example.org",
    "DATABASE_URL": "postgres://hearth:pw@db.internal:5432/hearth",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://hearth:pw@smtp.example.org:587",
    "HEARTH_SITE_URL": "https://hearth.example.org",
}


def boot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = args or ("-c", "import django; django.setup()")
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def without(name: str) -> dict[str, str]:
    return {key: value for key, value in GOOD.items() if key != name}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (without("DJANGO_SECRET_KEY"), "Set the DJANGO_SECRET_KEY environment variable"),
        ({**GOOD, "DJANGO_SECRET_KEY": "too-short"}, "at least 50 characters"),
        ({**GOOD, "DJANGO_SECRET_KEY": "change-me"}, "at least 50 characters"),
        ({**GOOD, "DJANGO_SECRET_KEY": "a" * 64}, "at least 50 characters"),
        (
            {
                **GOOD,
                "DJANGO_SECRET_KEY": "django-insecure-" + "q7Wm2Zp9Lx4Rk8Tn3Vb6Yc1Hs5Jd0Gf2Na7",
            },
            "at least 50 characters",
        ),
        (
            # The local settings' published default must not work in production either.
            {
                **GOOD,
                "DJANGO_SECRET_KEY": "local-only-insecure-key-for-make-run-never-for-production",
            },
            "at least 50 characters",
        ),
        (without("DJANGO_ALLOWED_HOSTS"), "Set the DJANGO_ALLOWED_HOSTS environment variable"),
        ({**GOOD, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must name the host"),
        (without("DATABASE_URL"), "DATABASE_URL must be set in production"),
        ({**GOOD, "DATABASE_URL": "sqlite:////tmp/hearth.db"}, "must point at PostgreSQL"),
        ({**GOOD, "DATABASE_URL": "not a url"}, "DATABASE_URL must be a postgres://"),
        (without("REDIS_URL"), "REDIS_URL must be set in production"),
        (without("EMAIL_URL"), "EMAIL_URL must be set in production"),
        (without("HEARTH_SITE_URL"), "HEARTH_SITE_URL must be set in production"),
        ({**GOOD, "HEARTH_SITE_URL": "http://hearth.example.org"}, "must be the https://"),
        ({**GOOD, "REDIS_URL": "redis.internal:6379"}, "REDIS_URL must be a redis://"),
        ({**GOOD, "DJANGO_DEBUG": "on"}, "DJANGO_DEBUG must be off in production"),
        ({**GOOD, "DJANGO_DEBUG": "True"}, "DJANGO_DEBUG must be off in production"),
        ({**GOOD, "DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG='maybe' is not a yes/no value"),
        ({**GOOD, "DJANGO_SECURE_SSL_REDIRECT": "nope"}, "is not a yes/no value"),
    ],
    ids=[
        "no-secret",
        "short-secret",
        "example-secret",
        "low-entropy-secret",
        "django-insecure-secret",
        "local-default-secret",
        "no-allowed-hosts",
        "empty-allowed-hosts",
        "no-database-url",
        "sqlite-database",
        "malformed-database-url",
        "no-redis-url",
        "no-email-url",
        "no-site-url",
        "plain-http-site-url",
        "malformed-redis-url",
        "debug-on",
        "debug-true",
        "debug-garbled",
        "ssl-redirect-garbled",
    ],
)
def test_production_refuses_to_start_misconfigured(env, message):
    result = boot(env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_good_values():
    result = boot(GOOD)

    assert result.returncode == 0, result.stderr


def test_production_passes_the_deployment_checks():
    result = boot(GOOD, "manage.py", "check", "--deploy")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_production_tightens_cookies_and_https():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_NAME, s.DATABASES['default']['CONN_MAX_AGE'])"
    )

    result = boot(GOOD, "-c", script)

    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "31536000",
        "__Host-sessionid",
        "60",
    ]


def test_an_empty_database_url_means_the_local_sqlite_file():
    """`DATABASE_URL= make run` (or an empty line in an env file) is the same as leaving it out."""
    script = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"

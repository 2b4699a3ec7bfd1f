"""Bulk ingestion benchmark: POST /api/v1/communities/{slug}/activities/ with 1,000-item requests
through the whole Django stack (middleware, token authentication, parser, service, database),
then re-send everything and check that nothing new is stored.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hearth_bench \\
        .venv/bin/python bench/ingest.py --activities 200000

Runs in-process with Django's test client (no HTTP server, so no socket or gunicorn overhead:
this measures Hearth, not the network). The database named by DATABASE_URL is migrated and a
fresh community `bench-<random>` is created in it; never point it at a database others use.
Payloads are built before each request is timed; only the requests are timed.
"""

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query in memory and slows everything

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from members import services  # noqa: E402
from members.models import Activity, Member, Role  # noqa: E402

KINDS = [("post", 20), ("reply", 50), ("reaction", 25), ("join", 5)]


def batches(total: int, size: int, members: int, seed: int):
    """Deterministic, realistic-looking activity: threads with replies to recent posts, members
    on two platforms (some sharing an email across them), 90 days of history."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    start = datetime.now(UTC) - timedelta(days=90)
    kinds, weights = zip(*KINDS, strict=True)
    recent_posts: list[tuple[str, str]] = []
    for first in range(0, total, size):
        items = []
        for n in range(first, min(first + size, total)):
            kind = rng.choices(kinds, weights)[0]
            user = rng.randrange(members)
            platform = "discourse" if user % 3 else "slack"
            item = {
                "platform": platform,
                "external_id": f"a-{n}",
                "kind": kind,
                "occurred_at": (start + timedelta(seconds=n * 7776000 // total)).isoformat(),
                "member": {
                    "platform_user_id": f"u-{user}",
                    "username": f"user{user}",
                    "email": f"user{user // 2}@example.org",
                    "name": f"Member {user}",
                },
                "channel": rng.choice(["general", "help", "announcements"]),
                "content": "Lorem ipsum dolor sit amet " * rng.randint(1, 8),
                "metadata": {"source": "bench"},
            }
            if kind == "post":
                recent_posts = [*recent_posts[-199:], (platform, item["external_id"])]
            elif kind in ("reply", "reaction") and recent_posts:
                parent_platform, parent = rng.choice(recent_posts)
                item.update(platform=parent_platform, thread_id=parent, parent_id=parent)
            if kind == "reply" and "thread_id" not in item:
                item["thread_id"] = f"t-{n}"
            items.append(item)
        yield json.dumps({"activities": items}).encode()


def run(client: Client, path: str, token: str, args: argparse.Namespace) -> dict:
    durations, created, duplicates, rejected = [], 0, 0, 0
    for body in batches(args.activities, args.batch, args.members, args.seed):
        began = time.perf_counter()
        response = client.post(
            path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        durations.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:500]!r}")
        result = response.json()
        created += result["created"]
        duplicates += result["duplicates"]
        rejected += len(result["rejected"])
    total = sum(durations)
    return {
        "requests": len(durations),
        "created": created,
        "duplicates": duplicates,
        "rejected": rejected,
        "seconds": round(total, 2),
        "activities_per_second": round(args.activities / total),
        "p50_ms": round(statistics.median(durations) * 1000, 1),
        "p95_ms": round(sorted(durations)[int(len(durations) * 0.95) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--allow-sqlite", action="store_true", help="for a smoke run only")
    args = parser.parse_args()
    if connection.vendor != "postgresql" and not args.allow_sqlite:
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (or pass --allow-sqlite).")

    call_command("migrate", verbosity=0)
    slug = f"bench-{secrets.token_hex(4)}"
    user = services.user_create(email=f"{slug}@bench.invalid", password=None, name="Bench")
    community = services.community_create(slug=slug, name=slug, timezone_name="Europe/Amsterdam")
    services.membership_add(actor=None, community=community, user=user, role=Role.MANAGER)
    _token, raw = services.api_token_create(
        actor=None, community=community, user=user, name="bench"
    )
    client = Client(SERVER_NAME="localhost")
    path = f"/api/v1/communities/{slug}/activities/"

    print(f"{connection.vendor}, {os.cpu_count()} CPUs, community {slug}", flush=True)
    first = run(client, path, raw, args)
    print("first send:", json.dumps(first), flush=True)
    again = run(client, path, raw, args)
    print("re-send:   ", json.dumps(again), flush=True)
    stored = Activity.objects.filter(community=community).count()
    members = Member.objects.filter(community=community).count()
    print(f"stored activities {stored}, members {members}")
    if stored != first["created"] or again["created"] != 0:
        raise SystemExit("FAIL: the re-send stored something new")


if __name__ == "__main__":
    main()

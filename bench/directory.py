"""Member directory benchmark: GET /c/{slug}/members/ (search, filters, sort, one page of 50)
over N members with identities and tags, through the whole Django stack as a manager.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hearth_bench \\
        .venv/bin/python bench/directory.py --members 100000

The database named by DATABASE_URL is migrated and a fresh community `dir-<random>` is filled
with INSERT ... SELECT over generate_series (PostgreSQL only; seconds, not the ORM); never point
it at a database others use. Runs in-process with Django's test client, so the figure is
Hearth's and not the network's. Each query is requested --repeat times; p50 and p95 are printed.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query in memory and slows everything

import django
from django.conf import settings

# No collectstatic before a benchmark: templates resolve static URLs without the manifest.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from members import services, services_relations  # noqa: E402
from members.models import Role, Tag  # noqa: E402

FILL = """
INSERT INTO members_member (public_id, community_id, display_name, email, staff, bot, key_role,
    joined_at, first_contribution_at, last_active_at, created_at, updated_at)
SELECT md5(%(c)s::text || '-' || n)::uuid, %(c)s,
       (ARRAY['Ada','Bo','Chen','Dana','Eli','Fay','Gus','Hana','Ivo','Jun'])[1 + n %% 10]
           || ' '
           || (ARRAY['Lovelace','Berg','Okafor','Silva','Novak','Kim','Roy','Ito'])[1 + n %% 8]
           || ' ' || n,
       'person' || n || '@example.org', n %% 97 = 0, n %% 101 = 0,
       CASE WHEN n %% 500 = 0 THEN 'champion' WHEN n %% 777 = 0 THEN 'influencer' ELSE '' END,
       now() - (n %% 730) * interval '1 day', now() - (n %% 700) * interval '1 day',
       now() - (n %% 365) * interval '1 day' - (n %% 1440) * interval '1 minute', now(), now()
FROM generate_series(1, %(n)s) AS n;
INSERT INTO members_identity (member_id, community_id, platform, platform_user_id, username,
    email, name, created_at, updated_at)
SELECT m.id, m.community_id, p.platform, p.platform || '-' || m.id, 'user' || m.id || p.suffix,
       m.email, m.display_name, now(), now()
FROM members_member m
CROSS JOIN (VALUES ('discourse', ''), ('github', '_gh')) AS p(platform, suffix)
WHERE m.community_id = %(c)s AND (p.platform = 'discourse' OR m.id %% 3 = 0);
INSERT INTO members_membertag (member_id, tag_id, created_at)
SELECT m.id, t.id, now() FROM members_member m
JOIN members_tag t ON t.community_id = m.community_id
WHERE m.community_id = %(c)s AND m.id %% (3 + t.id %% 5) = 0;
ANALYZE members_member; ANALYZE members_identity; ANALYZE members_membertag;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Needs PostgreSQL: set DATABASE_URL.")
    call_command("migrate", verbosity=0)
    slug = f"dir-{secrets.token_hex(4)}"
    community = services.community_create(slug=slug, name=slug, timezone_name="Europe/Amsterdam")
    user = services.user_create(email=f"{slug}@bench.test", password=None, name="Bench")
    services.membership_add(actor=None, community=community, user=user, role=Role.MANAGER)
    for name in ("speaker", "beta tester", "mentor", "needs follow-up", "ambassador"):
        services_relations.tag_create(actor=user, community=community, name=name)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"c": community.pk, "n": args.members})
    print(f"filled {args.members:,} members in {time.perf_counter() - started:.1f} s")

    tag = Tag.objects.filter(community=community, name="mentor").get()
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    url = f"/c/{slug}/members/"
    queries = {
        "no filter (recently active)": "",
        "search a name part": "q=lovelace",
        "search a rare name": "q=Okafor 4242",
        "search a username": "q=user12345",
        "search an email (manager)": "q=person777@",
        "tag": f"tag={tag.public_id}",
        "key members": "key_role=any",
        "joined range + sort by name": "joined_after=2026-01-01&joined_before=2026-03-01&sort=name",
        "platform + last active range": "platform=github&active_after=2026-06-01",
        "search + tag + page 3": f"q=ada&tag={tag.public_id}&page=3",
        "htmx partial: search": "q=silva",
    }
    print(f"{'query':40} {'p50 ms':>8} {'p95 ms':>8}")
    for label, query in queries.items():
        headers = {"HTTP_HX_REQUEST": "true"} if label.startswith("htmx") else {}
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(f"{url}?{query}", **headers)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        times.sort()
        p95 = times[max(0, round(len(times) * 0.95) - 1)]
        print(f"{label:40} {statistics.median(times):8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()

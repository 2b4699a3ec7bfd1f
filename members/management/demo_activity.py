"""Generated demo activity for seed_demo: people on discourse, slack and github, their joins,
threads, replies and reactions over the last few days, as bulk-API items (ACTIVITY.md).

Pure Python and deterministic for a given random.Random and `now`: no queries, no Faker (a dev
dependency only). seed_demo feeds the items through members.ingestion.activities_ingest, the same
path the bulk API uses."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

# fmt: off
FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Anouk", "Ben", "Bram", "Chen", "Chiara", "Daan", "Dmitri", "Elif",
    "Emma", "Farah", "Finn", "Grace", "Hugo", "Ines", "Ivan", "Jana", "Jonas", "Kai", "Kenji",
    "Lars", "Lea", "Lucas", "Maya", "Mei", "Milan", "Nadia", "Noah", "Olga", "Omar", "Priya",
    "Quinn", "Rafael", "Rosa", "Sanne", "Sven", "Tariq", "Tess", "Uma", "Victor", "Wei", "Yara",
    "Yusuf", "Zoe",
)
LAST_NAMES = (
    "Alvarez", "Bakker", "Bianchi", "Chen", "Costa", "de Vries", "Dubois", "Eriksen", "Fischer",
    "Garcia", "Haddad", "Hansen", "Ito", "Jansen", "Kowalski", "Kumar", "Larsen", "Lopez", "Meyer",
    "Moreau", "Nguyen", "Novak", "Okafor", "Petrov", "Rossi", "Sato", "Schmidt", "Silva", "Smit",
    "Tanaka", "Visser", "Wagner", "Weber", "Yilmaz", "Zhang",
)
# fmt: on
DOMAINS = ("example.org", "example.com", "example.net")

PLATFORMS = ("discourse", "slack", "github")
PLATFORM_WEIGHTS = (5, 4, 2)
CHANNELS = {
    "discourse": ("help", "help", "ideas", "show-and-tell", "general"),
    "slack": ("general", "help", "help", "random", "show-and-tell"),
    "github": ("q-a", "q-a", "ideas", "show-and-tell"),
}
QUESTIONS = (
    "How do I configure the importer for a self-hosted instance?",
    "Login loop after upgrading to the latest release — anyone else?",
    "What is the recommended way to back up the database?",
    "Is there a way to export my data as CSV?",
    "Getting a timeout when syncing large channels",
    "Best practices for onboarding new contributors?",
    "Can the API paginate by date instead of page number?",
    "Docs for the webhook signature seem out of date",
)
IDEAS = (
    "Idea: a weekly digest of unanswered questions",
    "Proposal: dark mode for the dashboard",
    "What if meetups had a shared notes page?",
    "Could we tag threads by skill level?",
    "Suggestion: a mentor matching channel",
)
SHOWS = (
    "Show and tell: I built a small CLI on top of the API",
    "My first contribution got merged!",
    "Slides from my talk at the local meetup",
    "A dashboard I made for our team's community stats",
    "Wrote a blog post about our migration",
)
CHATTER = (
    "Good morning everyone!",
    "Anyone going to the conference next month?",
    "Friday thread: what are you working on?",
    "Welcome to all the new folks this week",
)
REPLIES = (
    "Have you tried clearing the cache?",
    "Same here, following this thread.",
    "This is documented under Settings → Integrations.",
    "Thanks, that fixed it!",
    "I ran into this last week; upgrading the client helped.",
    "Love this idea. Happy to help build it.",
    "Could you share the full error message?",
    "Nice work! How long did that take you?",
    "+1, this would save us a lot of time.",
    "There is an open issue about this, linking it here.",
)
EMOJI = ("+1", "heart", "tada", "eyes", "rocket", "pray")
TOPICS = {"help": QUESTIONS, "q-a": QUESTIONS, "ideas": IDEAS, "show-and-tell": SHOWS}


@dataclass
class Person:
    index: int
    name: str
    username: str
    email: str
    weight: float  # relative activity; heavy-tailed, most people lurk
    joined: datetime
    accounts: dict[str, str] = field(default_factory=dict)  # platform → platform_user_id


def people_make(rng: random.Random, *, members: int, start: datetime, now: datetime) -> list:
    """`members` Member rows-to-be: a few people have a second account (same email) on another
    platform, which ingestion keeps as a second member and a merge suggestion."""
    doubles = min(members // 2, max(1, members // 25)) if members >= 2 else 0
    people: list[Person] = []
    window = (now - start).total_seconds()
    for index in range(members - doubles):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = rng.choice(
            (
                f"{first}{last[0]}",
                f"{first}_{last.replace(' ', '')}",
                f"{first[0]}{last.replace(' ', '')}",
            )
        ).lower() + (str(rng.randint(1, 99)) if rng.random() < 0.4 else "")
        # A third joined before the window (up to a year earlier); the rest within it.
        if rng.random() < 0.35:
            joined = start - timedelta(seconds=rng.uniform(3600, 365 * 86400))
        else:
            joined = start + timedelta(seconds=rng.uniform(0, window))
        weight = rng.paretovariate(1.2) - 1 if rng.random() < 0.6 else rng.uniform(0, 0.05)
        person = Person(
            index=index,
            name=f"{first} {last}",
            username=handle,
            email=f"{first}.{last.replace(' ', '')}{index}@{rng.choice(DOMAINS)}".lower(),
            weight=weight,
            joined=joined,
        )
        platform = rng.choices(PLATFORMS, PLATFORM_WEIGHTS)[0]
        person.accounts[platform] = _account_id(platform, index)
        people.append(person)
    # The second accounts go to active people: that is who shows up on two platforms.
    for person in sorted(people, key=lambda p: -p.weight)[:doubles]:
        platform = rng.choice([p for p in PLATFORMS if p not in person.accounts])
        person.accounts[platform] = _account_id(platform, person.index)
    return people


def _account_id(platform: str, index: int) -> str:
    if platform == "slack":
        return f"U{(index * 7919 + 104729):08X}"
    if platform == "github":
        return str(583_000 + index * 37)
    return str(100 + index)


@dataclass
class _Feed:
    tz: tzinfo
    now: datetime
    items: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, platform: str, kind: str) -> str:
        key = f"{platform}:{kind}"
        self.counters[key] = self.counters.get(key, 0) + 1
        prefix = {"post": "topic", "reply": "post", "reaction": "like"}[kind]
        return f"demo-{prefix}-{self.counters[key]}"

    def add(self, person: Person, platform: str, kind: str, at: datetime, **extra: Any) -> None:
        self.items.append(
            {
                "platform": platform,
                "kind": kind,
                "occurred_at": at.astimezone(self.tz).isoformat(timespec="seconds"),
                "member": {
                    "platform_user_id": person.accounts[platform],
                    "username": person.username,
                    "email": person.email,
                    "name": person.name,
                },
                **extra,
            }
        )


def activity_make(
    rng: random.Random, *, members: int, days: int, now: datetime, tz: tzinfo
) -> list[dict[str, Any]]:
    """Bulk-API items for `members` members over the `days` days ending `now`, oldest first."""
    start = now - timedelta(days=days)
    people = people_make(rng, members=members, start=start, now=now)
    feed = _Feed(tz=tz, now=now)
    for person in people:
        for platform, user_id in person.accounts.items():
            feed.add(person, platform, "join", person.joined, external_id=f"demo-join-{user_id}")

    by_platform = {p: [x for x in people if p in x.accounts] for p in PLATFORMS}
    threads = max(1, round(members * days / 40))
    for _ in range(threads):
        platform = rng.choices(PLATFORMS, PLATFORM_WEIGHTS)[0]
        _thread(rng, feed, by_platform[platform], platform, start)
    feed.items.sort(
        key=lambda item: (datetime.fromisoformat(item["occurred_at"]), item["external_id"])
    )
    return feed.items


def _pick(rng: random.Random, candidates: list[Person], at: datetime) -> Person | None:
    present = [p for p in candidates if p.joined <= at]
    if not present:
        return None
    return rng.choices(present, [p.weight + 0.01 for p in present])[0]


def _daytime(rng: random.Random, start: datetime, now: datetime, tz: tzinfo) -> datetime:
    """A moment in the window, mostly during the community's waking hours."""
    day = (start + timedelta(seconds=rng.uniform(0, (now - start).total_seconds()))).astimezone(tz)
    hour = rng.choice(range(7, 23)) if rng.random() < 0.9 else rng.randrange(24)
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def _thread(
    rng: random.Random, feed: _Feed, members: list[Person], platform: str, start: datetime
) -> None:
    at = _daytime(rng, start, feed.now, feed.tz)
    author = _pick(rng, members, at) if start <= at <= feed.now else None
    if author is None:
        return
    channel = rng.choice(CHANNELS[platform])
    thread_id = feed.next_id(platform, "post")
    feed.add(
        author,
        platform,
        "post",
        at,
        external_id=thread_id,
        thread_id=thread_id,
        channel=channel,
        content=rng.choice(TOPICS.get(channel, CHATTER)),
    )
    _react(rng, feed, members, platform, thread_id, thread_id, author, at)
    # Some threads are never answered; the rest get a heavy-tailed number of replies.
    if rng.random() < 0.2:
        return
    posts = [(thread_id, author)]
    for _ in range(min(12, int(rng.paretovariate(1.3)))):
        # Minutes to a day: a log-normal delay around an hour and a half.
        at += timedelta(minutes=min(1440.0, max(2.0, rng.lognormvariate(4.5, 1.3))))
        if at > feed.now:
            return
        parent_id, parent_author = posts[0] if rng.random() < 0.7 else rng.choice(posts)
        others = [p for p in members if p is not parent_author]
        replier = _pick(rng, others, at) if rng.random() < 0.85 else author
        if replier is None:
            return
        reply_id = feed.next_id(platform, "reply")
        feed.add(
            replier,
            platform,
            "reply",
            at,
            external_id=reply_id,
            thread_id=thread_id,
            parent_id=parent_id,
            channel=channel,
            content=rng.choice(REPLIES),
        )
        posts.append((reply_id, replier))
        _react(rng, feed, members, platform, thread_id, reply_id, replier, at)


def _react(
    rng: random.Random,
    feed: _Feed,
    members: list[Person],
    platform: str,
    thread_id: str,
    target: str,
    target_author: Person,
    at: datetime,
) -> None:
    others = [p for p in members if p is not target_author]
    for _ in range(int(rng.expovariate(0.8))):
        when = at + timedelta(minutes=rng.lognormvariate(3.5, 1.5))
        reactor = _pick(rng, others, when) if when <= feed.now else None
        if reactor is None:
            continue
        feed.add(
            reactor,
            platform,
            "reaction",
            when,
            external_id=feed.next_id(platform, "reaction"),
            thread_id=thread_id,
            parent_id=target,
            metadata={"emoji": rng.choice(EMOJI)},
        )

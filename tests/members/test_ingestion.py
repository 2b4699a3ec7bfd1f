"""members.ingestion.activities_ingest: validation, idempotency, identity resolution, derived
member facts, reply resolution, merge suggestions, the query budget and the on-commit follow-up."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members import ingestion_hooks, tasks
from members.ingestion import MAX_ITEMS, activities_ingest
from members.models import Activity, Identity, Member, MergeSuggestion

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def item(n: int | str = 1, **overrides):
    """A valid post by u-{n}, one minute after T0 per n."""
    base = {
        "platform": "discourse",
        "external_id": f"post-{n}",
        "kind": "post",
        "occurred_at": (T0 + timedelta(minutes=int(str(n).split("-")[-1]))).isoformat(),
        "member": {"platform_user_id": f"u-{n}", "username": f"user{n}"},
    }
    base.update(overrides)
    return base


def ingest(community, items):
    return activities_ingest(community=community, items=items, source="test")


# --- storing and counting ------------------------------------------------------------------


def test_valid_items_are_stored_with_their_members(community):
    result = ingest(community, [item(1), item(2)])
    assert (result.created, result.duplicates, result.rejected) == (2, 0, [])
    assert Activity.objects.filter(community=community).count() == 2
    assert Member.objects.filter(community=community).count() == 2
    identity = Identity.objects.get(platform="discourse", platform_user_id="u-1")
    assert identity.member.display_name == "user1"
    assert sorted(result.activity_ids) == sorted(Activity.objects.values_list("id", flat=True))


def test_a_duplicate_within_one_request_is_stored_once_and_counted_once(community):
    result = ingest(community, [item(1), item(1), item(2)])
    assert (result.created, result.duplicates) == (2, 1)
    assert Activity.objects.count() == 2


def test_resending_a_request_stores_nothing_new(community):
    batch = [item(n) for n in range(1, 6)]
    first = ingest(community, batch)
    again = ingest(community, batch)
    assert (first.created, first.duplicates) == (5, 0)
    assert (again.created, again.duplicates, again.rejected) == (0, 5, [])
    assert Activity.objects.count() == 5
    assert Member.objects.count() == 5


def test_the_same_external_id_on_another_platform_or_community_is_not_a_duplicate(
    community, other_community
):
    ingest(community, [item(1)])
    assert ingest(community, [item(1, platform="slack")]).created == 1
    assert ingest(other_community, [item(1)]).created == 1


def test_one_identity_across_items_resolves_to_one_member(community):
    result = ingest(
        community,
        [item(1), item(2, member={"platform_user_id": "u-1"}), item(3, kind="reaction")],
    )
    assert result.created == 3
    assert Member.objects.count() == 2
    assert result.members_created == 2


def test_an_existing_identity_is_reused(community):
    ingest(community, [item(1)])
    member = Member.objects.get()
    ingest(community, [item(2, member={"platform_user_id": "u-1"})])
    assert Member.objects.count() == 1
    assert Activity.objects.filter(member=member).count() == 2


def test_more_than_the_limit_is_refused_by_the_service(community):
    with pytest.raises(ValueError):
        ingest(community, [item(1)] * (MAX_ITEMS + 1))


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": "2026-03-04T17:05:11"}, "occurred_at"),  # naive
        ({"occurred_at": "2026-03-04"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"kind": "like"}, "kind"),
        ({"kind": None}, "kind"),
        ({"platform": "Discourse"}, "platform"),
        ({"platform": "x" * 33}, "platform"),
        ({"platform": ""}, "platform"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 256}, "external_id"),
        ({"external_id": "post\x001"}, "external_id"),
        ({"content": "hello \x00 world"}, "content"),
        ({"channel": "\ud800"}, "channel"),  # a lone surrogate cannot be stored as UTF-8
        ({"metadata": {"k": "x" * 9000}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": {"k": "nul \x00"}}, "metadata"),
        ({"member": {"username": "ada"}}, "member"),
        ({"member": None}, "member"),
        ({"member": "u-1"}, "member"),
        ({"member": {"platform_user_id": "u-1", "email": "not-an-email"}}, "member"),
        ({"kind": "reply", "parent_id": "post-0"}, "thread_id"),
    ],
)
def test_an_invalid_item_is_rejected_with_its_index_and_field(community, overrides, field):
    result = ingest(community, [item(1), item(2, **overrides)])
    assert result.created == 1
    assert [r["index"] for r in result.rejected] == [1]
    assert field in result.rejected[0]["errors"]
    assert Activity.objects.count() == 1


def test_naive_time_message_says_an_offset_is_needed(community):
    result = ingest(community, [item(1, occurred_at="2026-03-04T17:05:11")])
    assert "offset" in result.rejected[0]["errors"]["occurred_at"][0]


def test_missing_platform_user_id_is_a_nested_field_error(community):
    result = ingest(community, [item(1, member={"username": "ada"})])
    assert result.rejected[0]["errors"] == {
        "member": {"platform_user_id": ["This field is required."]}
    }


def test_a_time_more_than_a_day_ahead_is_rejected_but_within_a_day_is_kept(community):
    now = datetime.now(UTC)
    result = ingest(
        community,
        [
            item(1, occurred_at=(now + timedelta(days=1, minutes=5)).isoformat()),
            item(2, occurred_at=(now + timedelta(hours=23)).isoformat()),
        ],
    )
    assert result.created == 1
    assert result.rejected[0]["index"] == 0


def test_a_non_object_item_is_rejected(community):
    result = ingest(community, ["post-1", None, item(3)])
    assert [r["index"] for r in result.rejected] == [0, 1]
    assert result.created == 1


def test_offsets_and_z_are_normalised_to_the_same_instant(community):
    ingest(
        community,
        [
            item(1, occurred_at="2026-03-04T17:05:11+01:00"),
            item(2, occurred_at="2026-03-04T16:05:11.250Z"),
        ],
    )
    first, second = Activity.objects.order_by("external_id")
    assert first.occurred_at == datetime(2026, 3, 4, 16, 5, 11, tzinfo=UTC)
    assert second.occurred_at == datetime(2026, 3, 4, 16, 5, 11, 250000, tzinfo=UTC)


def test_content_is_kept_up_to_4000_characters_and_ids_may_be_integers(community):
    ingest(community, [item(1, content="é" * 5000, external_id=81723)])
    activity = Activity.objects.get()
    assert activity.content == "é" * 4000
    assert activity.external_id == "81723"


def test_a_post_without_thread_id_is_its_own_thread(community):
    ingest(community, [item(1), item(2, kind="reaction")])
    assert dict(Activity.objects.values_list("external_id", "thread_id")) == {
        "post-1": "post-1",
        "post-2": "",
    }


def test_metadata_up_to_8_kib_is_kept(community):
    metadata = {"k": "x" * (8 * 1024 - 10)}
    assert ingest(community, [item(1, metadata=metadata)]).created == 1
    assert Activity.objects.get().metadata == metadata


def test_unknown_fields_are_ignored(community):
    assert ingest(community, [item(1, cooked="<p>hi</p>")]).created == 1


# --- replies, derived facts, merge suggestions ---------------------------------------------


def reply(n, parent, thread="post-1", user="u-9", **overrides):
    return item(
        n,
        kind="reply",
        external_id=f"reply-{n}",
        thread_id=thread,
        parent_id=parent,
        member={"platform_user_id": user},
        **overrides,
    )


def test_a_reply_knows_whom_it_answers_when_the_parent_is_in_the_same_batch(community):
    ingest(community, [item(1), reply(2, "post-1")])
    answer = Activity.objects.get(external_id="reply-2")
    assert answer.replied_to_member == Member.objects.get(identities__platform_user_id="u-1")
    assert answer.thread_id == "post-1"


def test_a_reply_to_a_parent_stored_earlier_is_resolved(community):
    ingest(community, [item(1)])
    ingest(community, [reply(2, "post-1")])
    assert Activity.objects.get(external_id="reply-2").replied_to_member.display_name == "user1"


def test_a_parent_arriving_after_its_reply_fills_the_reply_in(community):
    ingest(community, [reply(2, "post-1")])
    assert Activity.objects.get(external_id="reply-2").replied_to_member is None
    ingest(community, [item(1)])
    assert Activity.objects.get(external_id="reply-2").replied_to_member.display_name == "user1"


def test_a_parent_on_another_platform_is_not_the_parent(community):
    ingest(community, [item(1, platform="slack"), reply(2, "post-1")])
    assert Activity.objects.get(external_id="reply-2").replied_to_member is None


def test_member_facts_are_derived_from_the_ledger(community):
    user = {"platform_user_id": "u-1"}
    ingest(
        community,
        [
            item(1, kind="reaction", member=user, occurred_at="2026-03-04T10:00:00Z"),
            item(2, kind="join", member=user, occurred_at="2026-03-04T09:00:00Z"),
            item(3, kind="reply", thread_id="t", member=user, occurred_at="2026-03-05T10:00:00Z"),
        ],
    )
    member = Member.objects.get()
    assert member.joined_at == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert member.first_contribution_at == datetime(2026, 3, 5, 10, tzinfo=UTC)
    assert member.last_active_at == datetime(2026, 3, 5, 10, tzinfo=UTC)

    # An older activity delivered late moves joined_at back; a newer one moves last_active_at.
    ingest(
        community,
        [
            item(4, kind="post", member=user, occurred_at="2026-03-01T08:00:00Z"),
            item(5, kind="reaction", member=user, occurred_at="2026-03-09T08:00:00Z"),
        ],
    )
    member.refresh_from_db()
    assert member.joined_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert member.first_contribution_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert member.last_active_at == datetime(2026, 3, 9, 8, tzinfo=UTC)


def test_a_member_without_contributions_has_no_first_contribution(community):
    ingest(community, [item(1, kind="reaction")])
    member = Member.objects.get()
    assert member.first_contribution_at is None
    assert member.joined_at == member.last_active_at == T0 + timedelta(minutes=1)


def test_duplicates_do_not_move_member_facts(community):
    ingest(community, [item(1)])
    before = Member.objects.values("joined_at", "last_active_at", "updated_at").get()
    ingest(community, [item(1)])
    assert Member.objects.values("joined_at", "last_active_at", "updated_at").get() == before


def test_the_same_email_on_another_platform_raises_a_merge_suggestion_not_a_merge(community):
    ingest(community, [item(1, member={"platform_user_id": "u-1", "email": "Ada@Example.org"})])
    ingest(
        community,
        [item(2, platform="slack", member={"platform_user_id": "U1", "email": "ada@example.org"})],
    )
    assert Member.objects.count() == 2
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.reason, suggestion.status) == ("same_email", "pending")
    assert suggestion.member_a_id < suggestion.member_b_id
    # Seen again: no second suggestion.
    ingest(
        community,
        [item(3, platform="github", member={"platform_user_id": "7", "email": "x@example.org"})],
    )
    assert MergeSuggestion.objects.count() == 1


def test_two_new_identities_with_one_email_in_one_batch_are_suggested(community):
    ingest(
        community,
        [
            item(1, member={"platform_user_id": "u-1", "email": "ada@example.org"}),
            item(
                2, platform="slack", member={"platform_user_id": "U1", "email": "ada@example.org"}
            ),
        ],
    )
    assert MergeSuggestion.objects.count() == 1


def test_a_rejected_suggestion_is_not_raised_again(community):
    ingest(community, [item(1, member={"platform_user_id": "u-1", "email": "ada@example.org"})])
    ingest(
        community,
        [item(2, platform="slack", member={"platform_user_id": "U1", "email": "ada@example.org"})],
    )
    MergeSuggestion.objects.update(status="rejected")
    ingest(community, [item(3, platform="slack", member={"platform_user_id": "U1"})])
    assert list(MergeSuggestion.objects.values_list("status", flat=True)) == ["rejected"]


def test_emails_in_another_community_are_never_suggested(community, other_community):
    ingest(other_community, [item(1, member={"platform_user_id": "u-1", "email": "a@b.org"})])
    ingest(community, [item(1, member={"platform_user_id": "u-1", "email": "a@b.org"})])
    assert MergeSuggestion.objects.count() == 0


# --- query budget --------------------------------------------------------------------------


def _queries(community, items):
    with CaptureQueriesContext(connection) as ctx:
        ingest(community, items)
    return len(ctx.captured_queries)


def test_the_query_count_does_not_depend_on_the_number_of_items(community):
    """New members, replies and new emails in both batches, so every step runs:
    savepoint, select identities, insert members, insert identities, insert activities,
    update replied_to_member, update member facts, select identities by email,
    insert merge suggestions, release savepoint."""

    def batch(prefix, size):
        return [
            item(
                n,
                external_id=f"{prefix}-{n}",
                kind="reply" if n % 2 else "post",
                thread_id=f"{prefix}-0",
                parent_id=f"{prefix}-0" if n % 2 else "",
                member={"platform_user_id": f"{prefix}-u{n}", "email": f"{n}@example.org"},
            )
            for n in range(size)
        ]

    ingest(community, [item(1, member={"platform_user_id": "x", "email": "0@example.org"})])
    small = _queries(community, batch("a", 10))
    large = _queries(community, batch("b", 200))
    assert small == large == 10
    assert MergeSuggestion.objects.count() > 0


def test_a_resend_runs_even_fewer_queries(community):
    """savepoint, select identities, insert activities (nothing inserted), release."""
    batch = [item(n) for n in range(1, 201)]
    ingest(community, batch)
    assert _queries(community, batch) == 4


# --- the follow-up -------------------------------------------------------------------------


def test_the_follow_up_is_enqueued_on_commit_with_the_new_ids_and_local_days(
    community, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(tasks.ingest_followup, "delay", lambda **kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = ingest(
            community,
            [
                # 23:30 UTC on 4 March is 00:30 on 5 March in Amsterdam.
                item(1, occurred_at="2026-03-04T23:30:00Z"),
                item(2, occurred_at="2026-03-04T10:00:00Z"),
            ],
        )
    assert len(callbacks) == 1
    assert sent == []  # nothing is sent before the commit
    callbacks[0]()
    assert sent == [
        {
            "community_id": community.pk,
            "activity_ids": result.activity_ids,
            "days": ["2026-03-04", "2026-03-05"],
            "source": "test",
        }
    ]


def test_nothing_is_enqueued_when_nothing_was_created(
    community, django_capture_on_commit_callbacks
):
    ingest(community, [item(1)])
    with django_capture_on_commit_callbacks() as callbacks:
        ingest(community, [item(1), item(2, kind="bogus")])
    assert callbacks == []


def test_the_follow_up_task_runs_every_registered_hook(community):
    calls = []

    def hook(**kwargs):
        calls.append(kwargs)

    ingestion_hooks.register(hook)
    ingestion_hooks.register(hook)  # registering twice runs once
    try:
        ran = tasks.ingest_followup(
            community_id=community.pk, activity_ids=[1, 2], days=["2026-03-04"], source="api"
        )
    finally:
        ingestion_hooks.unregister(hook)
    assert ran == 1
    assert calls == [
        {
            "community_id": community.pk,
            "activity_ids": [1, 2],
            "days": ["2026-03-04"],
            "source": "api",
        }
    ]


def test_a_failing_hook_does_not_stop_the_others_and_fails_the_task(community):
    calls = []

    def broken(**kwargs):
        raise RuntimeError("boom")

    def fine(**kwargs):
        calls.append(kwargs["community_id"])

    ingestion_hooks.register(broken)
    ingestion_hooks.register(fine)
    try:
        with pytest.raises(RuntimeError):
            tasks.ingest_followup(community_id=7, activity_ids=[], days=[], source="api")
    finally:
        ingestion_hooks.unregister(broken)
        ingestion_hooks.unregister(fine)
    assert calls == [7]


def test_the_follow_up_task_is_routed_to_the_ingest_queue():
    from config.celery import app

    route = app.amqp.router.route({}, "members.tasks.ingest_followup")
    assert route["queue"].name == "ingest"


# --- PostgreSQL: a concurrent request that created the same identity first -----------------


def test_losing_the_identity_race_reuses_the_winners_member(community, monkeypatch):
    """Simulate the race: between our SELECT of identities and our INSERT, another request
    commits the identity. Ours must use that member and leave no orphan."""
    from members import ingestion

    ingest(community, [item(1)])
    winner = Member.objects.get()
    real_filter = Identity.objects.filter
    calls = {"n": 0}

    def first_select_sees_nothing(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    monkeypatch.setattr(ingestion.Identity.objects, "filter", first_select_sees_nothing)
    result = ingest(community, [item(2, member={"platform_user_id": "u-1"})])
    assert result.created == 1
    assert result.members_created == 0
    assert Member.objects.count() == 1
    assert Activity.objects.get(external_id="post-2").member == winner


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_creating_one_identity_end_with_one_member(
    requires_postgres, community
):
    """A real race on PostgreSQL: request A has inserted the identity but not committed when
        request B looks it up, so B's INSERT … ON CONFLICT waits for A, then does nothing; B must
        re-select A's member and leave no orphan member behind. B also re-sends A's activity, which
    must count as a duplicate."""
    import threading
    import time

    from django.db import connections, transaction

    a_inserted, results, errors = threading.Event(), {}, []

    def request_a():
        try:
            with transaction.atomic():
                results["a"] = ingest(community, [item(1)])
                a_inserted.set()
                time.sleep(0.5)  # B is now blocked on our uncommitted identity
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            a_inserted.set()
        finally:
            connections.close_all()

    def request_b():
        try:
            a_inserted.wait(5)
            results["b"] = ingest(community, [item(1), item(2, member={"platform_user_id": "u-1"})])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request_a), threading.Thread(target=request_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert (results["a"].members_created, results["b"].members_created) == (1, 0)
    # B re-sent A's activity while A was uncommitted: a duplicate, not a second row.
    assert (results["b"].created, results["b"].duplicates) == (1, 1)
    assert Activity.objects.count() == 2
    assert Member.objects.count() == 1
    assert set(Activity.objects.values_list("member_id", flat=True)) == {Member.objects.get().pk}

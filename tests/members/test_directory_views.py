"""The member directory and profile pages: search, filters, sort, htmx partial, segments, CSV
export, notes, tags, key roles, escaping, query budgets and the profile-section registry."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from members import profile_sections
from members import services_relations as svc
from members.ingestion import activities_ingest
from members.models import AuditEvent, Member, Note, SavedSegment
from tests.members.directory_data import activity, populate

pytestmark = pytest.mark.django_db

DIRECTORY = "/c/acme/members/"


@pytest.fixture
def members(community, manager):
    return populate(community, manager)


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def names(response) -> list[str]:
    return [m.display_name for m in response.context["members"]]


def profile_url(member: Member) -> str:
    return f"{DIRECTORY}{member.public_id}/"


# --- search and filters ------------------------------------------------------------------------


def test_the_directory_lists_members_most_recently_active_first(client, manager, members):
    response = signed_in(client, manager).get(DIRECTORY)
    assert response.status_code == 200
    actives = [m.last_active_at for m in response.context["members"]]
    assert actives == sorted(actives, reverse=True)
    assert len(actives) == 7  # six on discourse, one on github


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=user3", ["Person 3"]),  # identity username
        ("q=PERSON 2", ["Person 2"]),  # display name, any case
        ("platform=github", ["Person 0"]),
        ("q=octo", ["Person 0"]),
        ("staff=true", []),
        ("bot=false&q=person 5", ["Person 5"]),
        ("sort=name&q=person", [f"Person {n}" for n in (0, 0, 1, 2, 3, 4, 5)]),
        # Local days in Europe/Amsterdam; activity n was n days before 2026-03-20 12:00 UTC.
        ("joined_after=2026-03-18", ["Person 0", "Person 0", "Person 1", "Person 2"]),
        ("active_before=2026-03-15&sort=name", ["Person 5"]),
        ("joined_before=2026-03-16&joined_after=2026-03-15&sort=name", ["Person 4", "Person 5"]),
    ],
)
def test_search_and_filters(client, manager, members, query, expected):
    response = signed_in(client, manager).get(f"{DIRECTORY}?{query}")
    assert sorted(names(response)) == sorted(expected)
    if query.startswith("sort="):
        assert names(response) == expected


def test_tag_and_key_member_filters(client, manager, admin, members):
    tag = members[0].tags.get(name="speaker")
    svc.member_set_key_role(actor=manager, member=members[1], key_role="champion", owner=admin)
    client = signed_in(client, manager)
    tagged = {m.display_name for m in members[::2]}
    assert set(names(client.get(f"{DIRECTORY}?tag={tag.public_id}"))) == tagged
    assert names(client.get(f"{DIRECTORY}?key_role=any")) == [members[1].display_name]
    assert names(client.get(f"{DIRECTORY}?key_role=champion")) == [members[1].display_name]
    assert names(client.get(f"{DIRECTORY}?key_role=influencer")) == []


def test_email_is_searched_and_shown_only_for_roles_that_may_see_personal_data(
    client, manager, moderator, members
):
    as_manager = signed_in(client, manager).get(f"{DIRECTORY}?q=person3@example")
    assert names(as_manager) == ["Person 3"]
    assert "person3@example.org" in html(as_manager)
    as_moderator = signed_in(Client(), moderator)
    assert names(as_moderator.get(f"{DIRECTORY}?q=person3@example")) == []
    page = as_moderator.get(DIRECTORY)
    assert "@example.org" not in html(page)
    assert "Export CSV" not in html(page)
    assert "@example.org" not in html(as_moderator.get(profile_url(members[3])))


def test_an_invalid_filter_shows_the_error_and_no_members(client, manager, members):
    response = signed_in(client, manager).get(f"{DIRECTORY}?joined_after=yesterday")
    assert response.status_code == 200
    assert response.context["members"] == []
    assert "joined_after" in html(response)


def test_htmx_gets_only_the_results_and_a_plain_request_the_whole_page(client, manager, members):
    client = signed_in(client, manager)
    partial = client.get(f"{DIRECTORY}?q=user1", HTTP_HX_REQUEST="true")
    assert "<html" not in html(partial)
    assert 'class="table members"' in html(partial)
    assert names(partial) == ["Person 1"]
    full = client.get(f"{DIRECTORY}?q=user1")
    assert "<html" in html(full)
    assert 'id="member-filters"' in html(full)


def test_pages_of_fifty(client, manager, community):
    activities_ingest(
        community=community,
        items=[activity(n, f"u-{n}", username=f"p{n}") for n in range(55)],
        source="test",
    )
    client = signed_in(client, manager)
    assert len(client.get(DIRECTORY).context["members"]) == 50
    second = client.get(f"{DIRECTORY}?page=2")
    assert len(second.context["members"]) == 5
    assert "page=1" in html(second)


# --- query budgets -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_directory_query_budget_does_not_grow_with_rows(
    client, manager, community, count, django_assert_num_queries
):
    populate(community, manager, count=count)
    client = signed_in(client, manager)
    # 1 session, 2 user, 3 membership + community, 4 count, 5 page of members + owners,
    # 6 their identities, 7 their tags, 8 tag filter, 9 platforms, 10 segments, 11 navigation.
    with django_assert_num_queries(11):
        assert client.get(f"{DIRECTORY}?q=person").status_code == 200
    # htmx: the results only: no filter choices or segments (the navigation's context processor
    # still runs).
    with django_assert_num_queries(8):
        assert client.get(f"{DIRECTORY}?q=person", HTTP_HX_REQUEST="true").status_code == 200


@pytest.mark.parametrize("count", [3, 30])
def test_profile_query_budget_does_not_grow_with_activity_or_notes(
    client, manager, community, count, django_assert_num_queries
):
    members = populate(community, manager, count=1)
    member = members[0]
    activities_ingest(
        community=community,
        items=[activity(100 + n, "u-0", days_ago=n % 5) for n in range(count)],
        source="test",
    )
    for n in range(count):
        svc.note_create(actor=manager, member=member, body=f"note {n}")
    client = signed_in(client, manager)
    # 1 session, 2 user, 3 membership + community, 4 member + owner, 5 identities, 6 tags,
    # 7 timeline count, 8 timeline page, 9 notes + authors, 10 introductions + both members +
    # introducer, 11 team (owner choices), 12 all tags (datalist), 13 "introduce to" choices,
    # 14 navigation.
    with django_assert_num_queries(14):
        assert client.get(profile_url(member)).status_code == 200


# --- escaping ----------------------------------------------------------------------------------


def test_member_written_text_is_escaped_everywhere(client, manager, community):
    evil = "<script>alert(1)</script>"
    item = activity(1, "u-x", username=evil, name=evil)
    item["content"] = f"hello {evil}"
    item["url"] = "javascript:alert(1)"
    activities_ingest(community=community, items=[item], source="test")
    member = Member.objects.get(community=community)
    svc.note_create(actor=manager, member=member, body=f"note {evil}")
    client = signed_in(client, manager)
    for page in (client.get(DIRECTORY), client.get(profile_url(member))):
        assert evil not in html(page)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(page)
    assert "javascript:alert" not in html(client.get(profile_url(member)))


# --- the profile ---------------------------------------------------------------------------------


def test_the_profile_shows_identities_timeline_pages_notes_and_tags(client, manager, community):
    activities_ingest(
        community=community,
        items=[activity(n, "u-1", username="ada", name="Ada", days_ago=n) for n in range(30)],
        source="test",
    )
    member = Member.objects.get(community=community)
    svc.member_tag(actor=manager, member=member, tag_name="speaker")
    svc.note_create(actor=manager, member=member, body="Likes tea.")
    client = signed_in(client, manager)
    page = client.get(profile_url(member))
    body = html(page)
    assert "ada" in body and "speaker" in body and "Likes tea." in body
    contents = [a.content for a in page.context["activities"]]
    assert len(contents) == 25
    assert contents[0] == "Message 0"  # newest first
    assert 'href="https://forum.example.org/t/0"' in body
    older = client.get(profile_url(member) + "?page=2")
    assert len(older.context["activities"]) == 5


def test_a_member_of_another_community_is_404(client, admin, outsider, other_community):
    activities_ingest(community=other_community, items=[activity(1, "u-1")], source="test")
    foreign = Member.objects.get(community=other_community)
    assert signed_in(client, admin).get(profile_url(foreign)).status_code == 404


def test_notes_add_edit_and_delete_own_and_others_notes_stay(
    client, manager, moderator, community, members
):
    member = members[0]
    theirs = Note.objects.get(member=member)  # by the manager (populate)
    client = signed_in(client, moderator)
    response = client.post(profile_url(member) + "notes/", {"body": "Seen in #help."})
    assert response.status_code == 302
    assert response["Location"].endswith("#notes")
    mine = Note.objects.get(member=member, author=moderator)
    base = f"{profile_url(member)}notes/"
    client.post(f"{base}{mine.public_id}/edit/", {"body": "Seen twice."})
    client.post(f"{base}{theirs.public_id}/edit/", {"body": "Overwritten"})
    client.post(f"{base}{theirs.public_id}/delete/")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.body == "Seen twice."
    assert theirs.body.startswith("Met ")
    Note.objects.filter(pk=mine.pk).update(updated_at=mine.created_at + timedelta(minutes=5))
    page = client.get(profile_url(member))
    assert [n.edited for n in page.context["notes"]] == [True, False]
    # Edit/delete forms only for the moderator's own note.
    assert f"{mine.public_id}/edit/" in html(page)
    assert f"{theirs.public_id}/edit/" not in html(page)
    client.post(f"{base}{mine.public_id}/delete/")
    assert not Note.objects.filter(pk=mine.pk).exists()


def test_an_empty_note_is_refused_with_a_message(client, manager, members):
    response = signed_in(client, manager).post(
        profile_url(members[0]) + "notes/", {"body": "  "}, follow=True
    )
    assert "Write something in the note." in html(response)


def test_tags_are_added_and_removed_from_the_profile(client, manager, members):
    member = members[1]
    client = signed_in(client, manager)
    client.post(profile_url(member) + "tags/", {"tag": "Mentor"})
    tag = member.tags.get()
    assert tag.name == "Mentor"
    client.post(f"{profile_url(member)}tags/{tag.public_id}/remove/")
    assert not member.tags.exists()


def test_key_member_form_sets_role_and_owner_and_refuses_a_stranger(
    client, manager, admin, outsider, members
):
    member = members[0]
    client = signed_in(client, manager)
    client.post(
        profile_url(member) + "key/",
        {"key_role": "influencer", "relationship_owner": str(admin.public_id)},
    )
    member.refresh_from_db()
    assert (member.key_role, member.relationship_owner) == ("influencer", admin)
    page = client.get(profile_url(member))
    assert "Influencer" in html(page) and admin.display_name in html(page)
    response = client.post(
        profile_url(member) + "key/",
        {"key_role": "champion", "relationship_owner": str(outsider.public_id)},
        follow=True,
    )
    assert "Choose a key role and a teammate." in html(response)
    member.refresh_from_db()
    assert member.key_role == "influencer"


def test_moderators_see_no_edit_forms(client, moderator, members):
    body = html(signed_in(client, moderator).get(profile_url(members[0])))
    own = f"{members[0].public_id}/"
    assert f"{own}key/" not in body and f"{own}tags/" not in body
    assert f"{own}introductions/" not in body and 'name="status"' not in body
    assert "Add note" in body


def test_profile_sections_from_other_apps_appear_only_when_registered_and_filled(
    client, manager, members
):
    client = signed_in(client, manager)
    assert "Events attended" not in html(client.get(profile_url(members[0])))
    section = profile_sections.register(
        "Events attended",
        lambda member: [f"Meetup with {member.display_name}"],
        "members/_partials/profile_section_list.html",
    )
    empty = profile_sections.register("Nothing here", lambda member: [], "unused.html")
    try:
        body = html(client.get(profile_url(members[0])))
        assert "Events attended" in body
        assert f"Meetup with {members[0].display_name}" in body
        assert "Nothing here" not in body
    finally:
        profile_sections.unregister(section)
        profile_sections.unregister(empty)


# --- segments, bulk tagging, export --------------------------------------------------------------


def test_a_segment_saves_only_directory_filters_and_is_listed_as_a_link(client, manager, members):
    client = signed_in(client, manager)
    response = client.post(
        DIRECTORY + "segments/", {"name": "GitHub folks", "query": "platform=github&evil=1&page=3"}
    )
    assert response["Location"] == f"{DIRECTORY}?platform=github"
    assert SavedSegment.objects.get().query == "platform=github"
    assert f'href="{DIRECTORY}?platform=github"' in html(client.get(DIRECTORY))


def test_segments_of_others_cannot_be_deleted(client, manager, admin, community):
    segment = svc.segment_save(actor=admin, community=community, name="Admin's", query="")
    response = signed_in(client, manager).post(f"{DIRECTORY}segments/{segment.public_id}/delete/")
    assert response.status_code == 404
    assert SavedSegment.objects.exists()


def test_bulk_tag_tags_the_ticked_members(client, manager, members):
    ticked = [str(members[1].public_id), str(members[3].public_id), "not-a-uuid"]
    signed_in(client, manager).post(
        DIRECTORY + "bulk-tag/", {"member": ticked, "tag": "newsletter", "query": "q=p"}
    )
    assert {m.display_name for m in Member.objects.filter(tags__name="newsletter")} == {
        members[1].display_name,
        members[3].display_name,
    }


def test_export_streams_the_filtered_list_formula_safe_and_is_audited(client, manager, community):
    item = activity(1, "u-1", username="calc", name='=HYPERLINK("http://x")', email="a@b.org")
    activities_ingest(community=community, items=[item, activity(2, "u-2", name="Bob")], source="t")
    response = signed_in(client, manager).get(DIRECTORY + "export.csv?q=calc&page=2")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "display_name", "email"]
    assert len(rows) == 2
    assert rows[1][1] == '\'=HYPERLINK("http://x")'
    assert rows[1][2] == "a@b.org"
    assert rows[1][3] == "discourse:calc"
    event = AuditEvent.objects.get(action="member.export")
    assert event.after == {"filters": {"q": "calc"}}


def test_directory_dates_are_the_communitys_days(client, manager, community):
    # 23:30 UTC on 2026-03-09 is already 2026-03-10 in Amsterdam.
    item = activity(1, "u-1", name="Late")
    item["occurred_at"] = datetime(2026, 3, 9, 23, 30, tzinfo=UTC).isoformat()
    activities_ingest(community=community, items=[item], source="test")
    client = signed_in(client, manager)
    assert names(client.get(f"{DIRECTORY}?joined_after=2026-03-10")) == ["Late"]
    assert names(client.get(f"{DIRECTORY}?joined_before=2026-03-09")) == []


# --- PostgreSQL: the indexes the search and the default sort rely on ---------------------------


def test_on_postgresql_search_columns_have_trigram_indexes_and_recency_sorts_nulls_last(
    requires_postgres, client, manager, members, django_assert_num_queries
):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s "
            "OR indexname = 'members_member_comm_active'",
            ["%_trgm"],
        )
        indexes = dict(cursor.fetchall())
        assert set(indexes) == {
            "members_member_name_trgm",
            "members_member_email_trgm",
            "members_identity_username_trgm",
            "members_identity_email_trgm",
            "members_member_comm_active",
        }
        assert "gin_trgm_ops" in indexes["members_member_name_trgm"]
        assert "NULLS LAST" in indexes["members_member_comm_active"]
        # The expression Django compiles `icontains` to is the indexed one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (
            Member.objects.filter(display_name__icontains="erson 3")
            .values("pk")
            .query.sql_with_params()
        )
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "members_member_name_trgm" in plan

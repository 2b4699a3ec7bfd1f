"""The foundation's journeys in a real browser: each demo role signs in and lands on its home; the
admin invites a teammate, creates an API token, filters the audit log and exports it; an invited
teammate accepts. Any console error, CSP violation or failed request fails the test."""

import csv
import re

import pytest
from django.core import mail
from django.test import Client
from playwright.sync_api import Page, expect

from members import services
from members.models import ApiToken, Community, Invitation, Role, User
from tests.browser.conftest import DEMO_STAFF, PageWatch, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("requires_chromium", "demo")]


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main")


@pytest.mark.parametrize("role", list(DEMO_STAFF))
def test_each_role_signs_in_on_the_login_page_and_lands_on_its_home(
    page: Page, watch: PageWatch, role: str
) -> None:
    _email, name, role_label = DEMO_STAFF[role]

    if role == "admin":
        page.goto("/accounts/login/")
        shoot(page, "login")
    log_in(page, role)

    expect(page).to_have_title("Home · Demo Community · Hearth")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")
    expect(page.locator(".page-head .badge")).to_have_text(role_label)
    expect(page.locator(".sidebar .foot")).to_contain_text(role_label)
    team_link = main_nav(page).get_by_role("link", name="Team")
    if role == "admin":
        expect(team_link).to_be_visible()
        expect(page.get_by_role("heading", name="Set up your workspace")).to_be_visible()
    else:
        expect(team_link).to_have_count(0)
    shoot(page, f"home-{role}")
    watch.assert_clean()


def test_admin_invites_a_teammate_creates_a_token_and_exports_the_filtered_audit_log(
    page: Page, watch: PageWatch
) -> None:
    log_in(page, "admin")

    # Team: invite a moderator. The email goes out from the (eager) task.
    main_nav(page).get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    page.get_by_label("Email").fill("new.mod@example.org")
    page.get_by_label("Role", exact=True).select_option(label="Moderator")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".messages")).to_have_text("Invitation sent to new.mod@example.org.")
    row = page.get_by_role("row").filter(has_text="new.mod@example.org")
    expect(row).to_contain_text("Moderator")
    expect(row).to_contain_text("Pending")
    expect(row).not_to_contain_text("sending")
    assert Invitation.objects.get(email="new.mod@example.org").sent_at is not None
    assert [m.to for m in mail.outbox] == [["new.mod@example.org"]]
    shoot(page, "team")
    watch.assert_clean()

    # API tokens: the secret is shown once, works, and is gone on the next visit.
    main_nav(page).get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Discourse importer")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Token “Discourse importer” created")).to_be_visible()
    raw = page.locator("#new-token").inner_text().strip()
    token = ApiToken.objects.get(name="Discourse importer")
    assert raw.startswith(token.prefix)
    assert raw != token.prefix
    shoot(page, "api-tokens")
    response = Client().get("/api/v1/communities/demo/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    page.goto(page.url)
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="Discourse importer")).to_contain_text("Active")
    watch.assert_clean()

    # Audit log: a filter change swaps the results in place (no page load) and pushes the URL.
    main_nav(page).get_by_role("link", name="Audit log").click()
    results = page.locator("#audit-results")
    expect(results).to_contain_text("invitation.create")
    expect(results).to_contain_text("api_token.create")
    shoot(page, "audit-log")
    page.evaluate("window.hearthSameDocument = true")
    with page.expect_response(
        lambda r: "/audit/" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        page.get_by_label("Action").select_option("invitation.create")
    expect(page).to_have_url(re.compile(r"/c/demo/audit/\?.*action=invitation\.create"))
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("new.mod@example.org")
    assert page.evaluate("window.hearthSameDocument") is True
    watch.assert_clean()

    # The pushed URL is a plain link: reloading it shows the same filtered page, and its export
    # carries the filter.
    page.reload()
    expect(page.get_by_label("Action")).to_have_value("invitation.create")
    expect(results.locator("tbody tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "hearth-demo-audit.csv"
    with open(download.path(), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["time", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["invitation.create"]
    watch.assert_clean()


def test_audit_export_follows_a_filter_applied_in_place(page: Page) -> None:
    log_in(page, "admin")
    page.goto("/c/demo/audit/")
    page.get_by_label("Action").select_option("team.add")
    expect(page).to_have_url(re.compile(r"action=team\.add"))
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", re.compile(r"action=team\.add"), timeout=2_000
    )


def test_an_invited_teammate_creates_a_login_and_joins(page: Page, watch: PageWatch) -> None:
    community = Community.objects.get(slug="demo")
    admin = User.objects.get(email="admin@demo.hearth")
    _invitation, raw = services.invitation_create(
        actor=admin, community=community, email="newcomer@example.org", role=Role.MANAGER
    )

    page.goto(f"/invitations/{raw}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Demo Community")
    page.get_by_label("Your name").fill("Nia Newcomer")
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password again").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create login and join").click()

    page.wait_for_url(re.compile(r"/c/demo/$"))
    expect(page.locator(".messages")).to_have_text("Welcome to Demo Community.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nia Newcomer")
    expect(page.locator(".page-head .badge")).to_have_text("Community manager")
    watch.assert_clean()

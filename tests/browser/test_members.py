"""The manager's member journey in a real browser: find a member through the directory's search
(results swap in place with htmx), open the profile and add a note. Any console error, CSP
violation or failed request fails the test."""

import re

import pytest
from playwright.sync_api import Page, expect

from members.models import Member, Note
from tests.browser.conftest import PageWatch, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("requires_chromium", "demo")]


def test_a_manager_finds_a_member_opens_the_profile_and_adds_a_note(
    page: Page, watch: PageWatch
) -> None:
    member = (
        Member.objects.filter(community__slug="demo", bot=False)
        .exclude(display_name="")
        .order_by("-last_active_at")
        .first()
    )
    log_in(page, "manager")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Members", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    expect(page.locator("#member-results tbody tr")).to_have_count(50)
    shoot(page, "members-directory")
    watch.assert_clean()

    # Typing searches in place: the table is replaced, the page is not reloaded.
    page.locator("body").evaluate("document.body.dataset.loaded = 'once'")
    page.get_by_label("Search").fill(member.display_name)
    rows = page.locator("#member-results tbody tr")
    expect(rows.first).to_contain_text(member.display_name)
    expect(page.locator("body")).to_have_attribute("data-loaded", "once")
    expect(page).to_have_url(re.compile(r"q="))
    watch.assert_clean()

    rows.get_by_role("link", name=member.display_name).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(member.display_name)
    expect(page.locator("#timeline li").first).to_be_visible()
    page.get_by_label("New note").fill("Talked at the meetup <b>about</b> mentoring.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".messages")).to_have_text("Note added.")
    expect(page.locator("#notes .note-body").first).to_have_text(
        "Talked at the meetup <b>about</b> mentoring."
    )
    assert Note.objects.filter(member=member, author__email="manager@demo.hearth").exists()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "member-profile")
    watch.assert_clean()

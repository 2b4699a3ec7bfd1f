"""Account pages (django-allauth inside Hearth's shell): two-factor authentication end to end,
password change and reset, the sign-out confirmation, and the 404 page."""

import re
import time
from collections.abc import Callable

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, DEMO_STAFF, PageWatch, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("requires_chromium", "demo")]


def totp_now(secret: str) -> str:
    """The authenticator app's current code. allauth accepts only the current 30-second window,
    so a code computed in the window's last seconds waits for the next one."""
    if (left := 30 - time.time() % 30) < 3:
        time.sleep(left + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def open_account_menu(page: Page, item: str) -> None:
    page.get_by_label("Account menu").click()
    page.locator(".usermenu .menu").get_by_role("link", name=item).click()


def test_admin_turns_on_two_factor_and_then_signs_in_with_a_recovery_code(
    page: Page, new_page: Callable[[], Page], watch: PageWatch
) -> None:
    log_in(page, "admin")
    open_account_menu(page, "Two-factor authentication")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    shoot(page, "2fa")

    page.get_by_role("link", name="Activate").click()
    # Turning on 2FA asks for the password again, however recent the sign-in.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    shoot(page, "confirm-access")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    expect(page.get_by_role("img")).to_be_visible()  # the QR code, a data: URI
    secret = page.locator("#authenticator_secret").input_value()
    shoot(page, "2fa-activate")
    page.get_by_label("Authenticator code").fill(totp_now(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".messages")).to_contain_text("activated")

    page.goto("/accounts/2fa/recovery-codes/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery Codes")
    codes = page.get_by_label("Unused codes").input_value().split()
    assert len(codes) == 10
    shoot(page, "2fa-recovery-codes")
    watch.assert_clean()

    # A second browser: the password alone is no longer enough.
    other = new_page()
    other.goto("/accounts/login/")
    other.get_by_label("Email").fill(DEMO_STAFF["admin"][0])
    other.get_by_label("Password").fill(DEMO_PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    expect(other).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(other.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    shoot(other, "2fa-sign-in")
    other.get_by_label("Code").fill(codes[0])
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_url(re.compile(r"/c/demo/$"))
    expect(other.get_by_role("heading", level=1)).to_have_text("Welcome, Ada Admin")


def test_password_change_and_sign_out_pages_sit_in_the_app_shell(
    page: Page, watch: PageWatch
) -> None:
    log_in(page, "manager")
    open_account_menu(page, "Change password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change Password")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_label("Current password")).to_be_visible()
    shoot(page, "password-change")

    page.goto("/accounts/logout/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Out")
    shoot(page, "sign-out")
    page.get_by_role("button", name="Sign Out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_forgotten_password_is_reset_by_email(page: Page, watch: PageWatch) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    shoot(page, "password-reset")
    page.get_by_label("Email").fill(DEMO_STAFF["moderator"][0])
    page.get_by_role("button", name="Send the reset link").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert [m.to for m in mail.outbox] == [[DEMO_STAFF["moderator"][0]]]

    # The link in the email sets a new password, which then signs in.
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(re.sub(r"^https?://[^/]+", "", link.group(0)))
    page.get_by_label("New Password", exact=True).fill("a-new-and-long-passphrase")
    page.get_by_label("New Password (again)").fill("a-new-and-long-passphrase")
    page.get_by_role("button", name="Change Password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password changed")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(DEMO_STAFF["moderator"][0])
    page.get_by_label("Password").fill("a-new-and-long-passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/c/demo/$"))


def test_an_unknown_page_shows_the_friendly_404(page: Page, watch: PageWatch) -> None:
    log_in(page, "viewer")
    watch.expect_status(404, r"/c/no-such-community/$")
    response = page.goto("/c/no-such-community/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("There is nothing here")
    expect(page.get_by_role("link", name="Back to Hearth")).to_be_visible()
    shoot(page, "404")

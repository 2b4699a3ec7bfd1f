"""Signing in (django-allauth): email + password, logout, password reset, no open sign-up,
TOTP two-factor authentication through allauth's own pages, and optional OIDC single sign-on."""

import importlib.util
import re
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.core.cache import cache
from django.test import Client

from members.models import User
from tests.members.factories import PASSWORD

pytestmark = pytest.mark.django_db

BASE_SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings" / "base.py"
OIDC_ENV = {
    "OIDC_SERVER_URL": "https://id.example.org/realms/staff",
    "OIDC_CLIENT_ID": "hearth",
    "OIDC_CLIENT_SECRET": "s3cret",
    "OIDC_PROVIDER_NAME": "Example ID",
}


@pytest.fixture(autouse=True)
def fresh_cache():
    """allauth remembers used TOTP codes (and rate limits) in the cache; start every test clean."""
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def signed_in_as(client: Client) -> str | None:
    user = client.get("/").wsgi_request.user
    return user.email if user.is_authenticated else None


def current_totp(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def wrong_totp(secret: str) -> str:
    # Not valid in any of the counters allauth tolerates around now.
    valid = {format_hotp_value(hotp_value(secret, int(time.time()) // 30 + i)) for i in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


# --- email and password ------------------------------------------------------------------------


def test_sign_in_with_email_and_password(client, manager):
    response = sign_in(client, "Manager@Acme.test")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == "manager@acme.test"


def test_the_login_page_renders_our_form(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="login"' in page and 'name="password"' in page
    assert "/accounts/password/reset/" in page
    assert "demo.hearth" not in page  # demo logins only with DEBUG on


def test_a_failed_sign_in_is_refused_and_logged(client, manager, caplog):
    caplog.set_level("WARNING", logger="hearth.security")

    response = sign_in(client, "manager@acme.test", "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_as(client) is None
    assert [
        (r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "hearth.security"
    ] == [("hearth.security", "WARNING", "failed login for manager@acme.test")]


def test_an_inactive_login_cannot_sign_in(client, manager):
    User.objects.filter(pk=manager.pk).update(is_active=False)

    sign_in(client, "manager@acme.test")

    assert signed_in_as(client) is None


def test_logout_needs_a_post(client, manager):
    sign_in(client, "manager@acme.test")

    page = client.get("/accounts/logout/")
    assert page.status_code == 200  # a confirmation page
    assert signed_in_as(client) == "manager@acme.test"

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in_as(client) is None


def test_password_reset_mails_a_link_that_sets_a_new_password(client, manager, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "manager@acme.test"})
    assert response.status_code == 302

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["manager@acme.test"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]

    done = client.post(
        set_password_url,
        {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"},
    )

    assert done.status_code == 302
    assert signed_in_as(client) is None  # ACCOUNT_LOGIN_ON_PASSWORD_RESET is off
    sign_in(client, "manager@acme.test", PASSWORD)
    assert signed_in_as(client) is None
    sign_in(client, "manager@acme.test", "a-brand-new-passphrase")
    assert signed_in_as(client) == "manager@acme.test"


def test_a_password_reset_link_works_once(client, manager, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "manager@acme.test"})
    path = re.search(r"(/accounts/password/reset/key/\S+/)", mailoutbox[0].body).group(1)
    set_password_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(
        set_password_url, {"password1": "first-new-passphrase", "password2": "first-new-passphrase"}
    )

    again = Client().get(path, follow=True)

    assert again.context["token_fail"] is True


def test_open_sign_up_is_closed(client, db):
    page = client.get("/accounts/signup/")
    response = client.post(
        "/accounts/signup/",
        {"email": "walk-in@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert "account/signup_closed.html" in [t.name for t in page.templates]
    assert response.status_code == 200
    assert not User.objects.filter(email="walk-in@example.org").exists()


# --- TOTP ----------------------------------------------------------------------------------------


def open_totp_activation(client: Client, email: str) -> str:
    """Sign in, confirm the password again as allauth asks before changing 2FA, and open the
    activation page; returns the secret it offers."""
    assert sign_in(client, email).status_code == 302
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    confirmed = client.post(asked["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    assert secret in page.content.decode()  # shown for manual entry
    return secret


def activate_totp(client: Client, email: str) -> str:
    """Turn TOTP on through allauth's pages, as a person would; returns the secret."""
    secret = open_totp_activation(client, email)

    response = client.post("/accounts/2fa/totp/activate/", {"code": current_totp(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user__email=email, type="totp").exists()
    client.post("/accounts/logout/")
    return secret


def test_totp_activation_refuses_a_wrong_code(client, manager):
    secret = open_totp_activation(client, "manager@acme.test")

    response = client.post("/accounts/2fa/totp/activate/", {"code": wrong_totp(secret)})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not Authenticator.objects.filter(user=manager).exists()


def test_with_totp_on_sign_in_asks_for_a_code_and_accepts_a_valid_one(client, manager):
    secret = activate_totp(client, "manager@acme.test")

    response = sign_in(client, "manager@acme.test")

    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_as(client) is None  # the password alone is not enough
    done = client.post("/accounts/2fa/authenticate/", {"code": current_totp(secret)})
    assert done.status_code == 302
    assert signed_in_as(client) == "manager@acme.test"


def test_with_totp_on_a_wrong_code_keeps_you_out(client, manager):
    secret = activate_totp(client, "manager@acme.test")
    sign_in(client, "manager@acme.test")

    response = client.post("/accounts/2fa/authenticate/", {"code": wrong_totp(secret)})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert signed_in_as(client) is None


def test_a_totp_code_cannot_be_replayed(client, manager):
    secret = activate_totp(client, "manager@acme.test")
    code = current_totp(secret)
    sign_in(client, "manager@acme.test")
    client.post("/accounts/2fa/authenticate/", {"code": code})
    client.post("/accounts/logout/")

    sign_in(client, "manager@acme.test")
    response = client.post("/accounts/2fa/authenticate/", {"code": code})

    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_the_admin_home_ticks_two_factor_once_it_is_on(client, admin):
    activate_totp(client, "admin@acme.test")
    client.force_login(admin)

    assert client.get("/c/acme/").context["has_totp"] is True


# --- OpenID Connect single sign-on ---------------------------------------------------------------


def load_base_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]):
    """config/settings/base.py executed afresh with `env`, as a process starting with it would."""
    for name in OIDC_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("hearth_settings_probe", BASE_SETTINGS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_oidc_env_configures_the_openid_connect_app(monkeypatch):
    probe = load_base_settings(monkeypatch, OIDC_ENV)

    assert probe.SOCIALACCOUNT_PROVIDERS == {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Example ID",
                    "client_id": "hearth",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://id.example.org/realms/staff"},
                }
            ]
        }
    }


@pytest.mark.parametrize("missing", ["OIDC_SERVER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"])
def test_oidc_stays_off_unless_all_three_are_set(monkeypatch, missing):
    env = {name: value for name, value in OIDC_ENV.items() if name != missing}

    assert load_base_settings(monkeypatch, env).SOCIALACCOUNT_PROVIDERS == {}


def test_with_oidc_configured_the_login_page_offers_single_sign_on(client, settings, monkeypatch):
    settings.SOCIALACCOUNT_PROVIDERS = load_base_settings(
        monkeypatch, OIDC_ENV
    ).SOCIALACCOUNT_PROVIDERS

    page = client.get("/accounts/login/").content.decode()

    assert "Example ID" in page
    assert 'href="/accounts/oidc/sso/login/?process=login"' in page


def test_without_oidc_the_login_page_offers_no_single_sign_on(client, db):
    page = client.get("/accounts/login/").content.decode()

    assert "/accounts/oidc/" not in page
    assert 'class="providers"' not in page


def test_single_sign_on_creates_no_logins(rf, db):
    from members.adapters import AccountAdapter, SocialAccountAdapter

    request = rf.get("/")
    assert AccountAdapter().is_open_for_signup(request) is False
    assert SocialAccountAdapter().is_open_for_signup(request, sociallogin=None) is False

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Staff join by invitation (members.views.InvitationAcceptView), never by open sign-up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on logs in existing staff (matched by verified email); it creates no users."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: object) -> bool:
        return False

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from .integrations import SECRET_MAX, SECRET_MIN
from .models import TIMEZONES, IntegrationPlatform, KeyRole, Role, User
from .relations import NOTE_BODY_MAX, SEGMENT_QUERY_MAX, TAG_NAME_MAX

TIMEZONE_CHOICES = [(tz, tz) for tz in TIMEZONES]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What uses it, e.g. “Discourse importer”.")
    )
    user = forms.ModelChoiceField(
        label=_("Acts as"),
        queryset=User.objects.none(),
        to_field_name="public_id",
        help_text=_("The token has this teammate's role."),
    )

    def __init__(self, *args: object, team: list[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(pk__in=[u.pk for u in team])


class CommunitySettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIMEZONE_CHOICES,
        help_text=_("Days in reports are counted in this zone."),
    )


class AcceptInvitationForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput,
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class IntegrationSecretForm(forms.Form):
    platform = forms.ChoiceField(choices=IntegrationPlatform.choices, widget=forms.HiddenInput)
    secret = forms.CharField(
        label=_("Signing secret"),
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("The same secret you enter in the platform's webhook settings."),
    )


# --- members: notes, tags, key roles, segments --------------------------------------------------


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("New note"),
        max_length=NOTE_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Seen by the team, never by the member."),
    )


class TagForm(forms.Form):
    tag = forms.CharField(
        label=_("Add a tag"),
        max_length=TAG_NAME_MAX,
        widget=forms.TextInput(attrs={"list": "tag-names", "autocomplete": "off"}),
    )


class KeyRoleForm(forms.Form):
    key_role = forms.ChoiceField(label=_("Role"), choices=KeyRole.choices, required=False)
    relationship_owner = forms.ChoiceField(label=_("Relationship owner"), required=False)

    def __init__(self, *args: object, team: list[User], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.team = {str(u.public_id): u for u in team}
        self.fields["relationship_owner"].choices = [
            ("", _("Nobody")),
            *((key, u.display_name) for key, u in self.team.items()),
        ]

    def clean_relationship_owner(self) -> User | None:
        value = self.cleaned_data.get("relationship_owner")
        return self.team.get(value) if value else None


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Segment name"), max_length=100)
    query = forms.CharField(required=False, max_length=SEGMENT_QUERY_MAX, widget=forms.HiddenInput)

"""Staff pages of the foundation: home per role, team and invitations, API tokens, community
settings and the audit log. Each is thin: form → service or selector → render."""

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from . import selectors, selectors_intros, services
from .exceptions import ApplicationError
from .filters import AuditEventFilter
from .forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    CommunitySettingsForm,
    IntegrationSecretForm,
    InvitationForm,
    RoleForm,
)
from .integrations import integration_set_secret, integrations_of
from .models import ApiToken, IntegrationPlatform, Invitation, Role, TeamMembership
from .permissions import CAPABILITIES, CAPABILITY_LABELS, Capability
from .views_base import CommunityView, FilteredListMixin, filtered

LAST_COMMUNITY = "hearth_community"


class RootView(LoginRequiredMixin, View):
    """`/`: the community the user last worked in, else their first; a plain page if none."""

    def get(self, request: HttpRequest) -> HttpResponse:
        memberships = list(selectors.memberships_of(request.user))
        slugs = [m.community.slug for m in memberships]
        if not slugs:
            return render(request, "members/no_community.html")
        slug = request.session.get(LAST_COMMUNITY)
        return redirect("community_home", slug if slug in slugs else slugs[0])


class CommunityHomeView(CommunityView):
    read_capability = Capability.DASHBOARDS

    def get_template_names(self) -> list[str]:
        return [f"members/home_{self.membership.role}.html"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Only when it changes: assigning marks the session dirty, costing a write per page view.
        if self.request.session.get(LAST_COMMUNITY) != self.community.slug:
            self.request.session[LAST_COMMUNITY] = self.community.slug
        context = super().get_context_data(**kwargs)
        team = list(selectors.team_of(self.community))
        context.update(
            team=team,
            role_counts={role: sum(m.role == role for m in team) for role in Role.values},
            can_do=[
                CAPABILITY_LABELS[c] for c in Capability if c in CAPABILITIES[self.membership.role]
            ],
        )
        if self.membership.role == Role.MANAGER:
            context.update(gone_quiet_count=selectors_intros.gone_quiet_count(self.community))
        if self.can(Capability.ADMINISTER):
            context.update(
                # Lapsed but not yet swept (hourly) invitations are not pending any more.
                pending_invitations=list(
                    selectors.invitations_of(self.community).filter(
                        status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
                    )[:5]
                ),
                active_tokens=selectors.api_tokens_of(self.community)
                .filter(revoked_at__isnull=True)
                .count(),
                recent_audit=list(selectors.audit_events_of(self.community)[:8]),
                has_totp=selectors.user_has_totp(self.request.user),
            )
        return context


# --- team and invitations -----------------------------------------------------------------


class TeamView(CommunityView):
    template_name = "members/team.html"
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("invite_form", InvitationForm())
        context.update(
            team=list(selectors.team_of(self.community)),
            invitations=list(selectors.invitations_of(self.community)[:50]),
            roles=Role.choices,
        )
        return context

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, _raw = services.invitation_create(
                    actor=request.user, community=self.community, **form.cleaned_data
                )
            except ApplicationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
                return redirect("team", community_slug)
        return self.render_to_response(self.get_context_data(invite_form=form), status=400)


class _TeamActionView(CommunityView):
    """A POST-only action on one teammate or invitation; answers with a redirect to the team."""

    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER
    http_method_names = ["post"]

    def done(
        self, message: str | None = None, error: ApplicationError | None = None
    ) -> HttpResponse:
        if error is not None:
            messages.error(self.request, error.message)
        elif message:
            messages.success(self.request, message)
        return redirect("team", self.community.slug)

    def teammate(self, user_id: str) -> TeamMembership:
        return self.get_scoped_or_404(
            TeamMembership.objects.select_related("user", "community"), user__public_id=user_id
        )

    def invitation(self, invitation_id: str) -> Invitation:
        return self.get_scoped_or_404(
            Invitation.objects.select_related("community"), public_id=invitation_id
        )


class MembershipRoleView(_TeamActionView):
    def post(self, request: HttpRequest, community_slug: str, user_id: str) -> HttpResponse:
        membership = self.teammate(user_id)
        form = RoleForm(request.POST)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Choose a role.")))
        try:
            services.membership_set_role(
                actor=request.user, membership=membership, role=form.cleaned_data["role"]
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label}
        )


class MembershipRemoveView(_TeamActionView):
    def post(self, request: HttpRequest, community_slug: str, user_id: str) -> HttpResponse:
        membership = self.teammate(user_id)
        try:
            services.membership_remove(actor=request.user, membership=membership)
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(
            _("%(email)s was removed from the team.") % {"email": membership.user.email}
        )


class InvitationRevokeView(_TeamActionView):
    def post(self, request: HttpRequest, community_slug: str, invitation_id: str) -> HttpResponse:
        invitation = self.invitation(invitation_id)
        try:
            services.invitation_revoke(actor=request.user, invitation=invitation)
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(
            _("The invitation to %(email)s was revoked.") % {"email": invitation.email}
        )


class InvitationResendView(_TeamActionView):
    def post(self, request: HttpRequest, community_slug: str, invitation_id: str) -> HttpResponse:
        invitation = self.invitation(invitation_id)
        try:
            services.invitation_resend(actor=request.user, invitation=invitation)
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(
            _("A new link is on its way to %(email)s; the old one no longer works.")
            % {"email": invitation.email}
        )


@method_decorator(never_cache, name="dispatch")
class InvitationAcceptView(View):
    """The link in the invitation email. A signed-in user with the invited address accepts with
    one click; someone new chooses a name and password; an existing user signs in first."""

    template_name = "members/invitation_accept.html"

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return self.show(request, token, AcceptInvitationForm())

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = services.invitation_for_token(token)
        form = AcceptInvitationForm(request.POST) if not request.user.is_authenticated else None
        if invitation is None or (form is not None and not form.is_valid()):
            return self.show(request, token, form, status=400)
        try:
            if form is None:
                membership = services.invitation_accept(raw_token=token, user=request.user)
            else:
                membership = services.invitation_accept(
                    raw_token=token,
                    name=form.cleaned_data["name"],
                    password=form.cleaned_data["password1"],
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        except ApplicationError as exc:
            if form is not None and exc.field == "password":
                form.add_error("password1", exc.message)
            else:
                messages.error(request, exc.message)
            return self.show(request, token, form, status=400)
        messages.success(
            request, _("Welcome to %(community)s.") % {"community": membership.community.name}
        )
        return redirect("community_home", membership.community.slug)

    def show(
        self, request: HttpRequest, token: str, form: AcceptInvitationForm | None, status: int = 200
    ) -> HttpResponse:
        invitation = services.invitation_for_token(token)
        usable = invitation is not None and invitation.is_usable
        existing = usable and selectors.user_exists(invitation.email)
        context = {
            "invitation": invitation if usable else None,
            "form": form,
            "existing_user": existing,
            "login_url": f"{reverse('account_login')}?next={request.path}",
        }
        return render(request, self.template_name, context, status=status if usable else 410)


# --- API tokens -----------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class ApiTokensView(CommunityView):
    template_name = "members/api_tokens.html"
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER

    def team_users(self) -> list:
        return [m.user for m in selectors.team_of(self.community)]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            ApiTokenForm(team=self.team_users(), initial={"user": self.request.user.public_id}),
        )
        context["tokens"] = list(selectors.api_tokens_of(self.community))
        return context

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = ApiTokenForm(request.POST, team=self.team_users())
        if form.is_valid():
            try:
                token, raw = services.api_token_create(
                    actor=request.user, community=self.community, **form.cleaned_data
                )
            except ApplicationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                # Shown in this response only; the page is never cached.
                return self.render_to_response(
                    self.get_context_data(new_token=raw, new_token_obj=token)
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ApiTokenRevokeView(CommunityView):
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER
    http_method_names = ["post"]

    def post(self, request: HttpRequest, community_slug: str, token_id: str) -> HttpResponse:
        token = self.get_scoped_or_404(
            ApiToken.objects.select_related("community"), public_id=token_id
        )
        try:
            services.api_token_revoke(actor=request.user, token=token)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("api_tokens", community_slug)


# --- integrations ---------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class IntegrationsView(CommunityView):
    """One card per platform: the webhook URL to paste, the secret form (the secret is never
    shown again), delivery counts and the last errors. Two queries after the membership: the
    integrations, and nothing else (the template reads only what the cards hold)."""

    template_name = "members/integrations.html"
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        failed = kwargs.get("failed_form")
        cards = integrations_of(self.community)
        context["cards"] = [
            {
                "card": card,
                "form": failed
                if failed is not None and failed.data.get("platform") == card.platform
                else IntegrationSecretForm(
                    initial={"platform": card.platform}, auto_id=f"{card.platform}-%s"
                ),
                "instructions": INTEGRATION_HELP[card.platform],
            }
            for card in cards
        ]
        return context

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        # One form per card: ids carry the platform so the three forms' fields stay distinct.
        platform = request.POST.get("platform", "")
        prefix = platform if platform in IntegrationPlatform.values else "integration"
        form = IntegrationSecretForm(request.POST, auto_id=f"{prefix}-%s")
        if form.is_valid():
            try:
                integration = integration_set_secret(
                    actor=request.user, community=self.community, **form.cleaned_data
                )
            except ApplicationError as exc:
                form.add_error("secret" if exc.field == "secret" else None, exc.message)
            else:
                messages.success(
                    request,
                    _("The %(platform)s secret is saved.")
                    % {"platform": integration.get_platform_display()},
                )
                return redirect("integrations", community_slug)
        return self.render_to_response(self.get_context_data(failed_form=form), status=400)


INTEGRATION_HELP = {
    "discourse": gettext_lazy(
        "In Discourse: Admin → API → Webhooks → New webhook. Payload URL: the URL above, "
        "content type application/json, the same secret; events: topics, posts, users, likes."
    ),
    "slack": gettext_lazy(
        "In your Slack app: Event Subscriptions → Request URL: the URL above; subscribe to "
        "message.channels, reaction_added and member_joined_channel. The secret is the app's "
        "Signing Secret (Basic Information)."
    ),
    "github": gettext_lazy(
        "In the repository or organisation: Settings → Webhooks → Add webhook. Payload URL: the "
        "URL above, content type application/json, the same secret; events: issues, issue "
        "comments, pull requests, discussions, discussion comments, stars."
    ),
}


# --- settings and audit ---------------------------------------------------------------------


class CommunitySettingsView(CommunityView):
    template_name = "members/settings.html"
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            CommunitySettingsForm(
                initial={"name": self.community.name, "timezone": self.community.timezone}
            ),
        )
        return context

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = CommunitySettingsForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        services.community_update(
            actor=request.user,
            community=self.community,
            name=form.cleaned_data["name"],
            timezone_name=form.cleaned_data["timezone"],
        )
        messages.success(request, _("Community settings saved."))
        return redirect("community_settings", community_slug)


class AuditLogView(FilteredListMixin, CommunityView):
    """The audit log, filtered; htmx swaps only the results when a filter changes."""

    template_name = "members/audit.html"
    partial_template_name = "members/_partials/audit_results.html"
    read_capability = Capability.ADMINISTER

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = AuditEventFilter(
            self.request.GET, queryset=selectors.audit_events_of(self.community)
        )
        page = self.page_of(filterset)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter=filterset,
            page=page,
            events=list(page.object_list),
            actions=selectors.audit_actions_of(self.community),
            team=list(selectors.team_of(self.community)),
            query=query.urlencode(),
        )
        return context


class AuditExportView(CommunityView):
    read_capability = Capability.ADMINISTER
    columns = (
        "time",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target",
        "before",
        "after",
        "ip",
    )

    def get(self, request: HttpRequest, community_slug: str) -> StreamingHttpResponse:
        filterset = AuditEventFilter(
            request.GET, queryset=selectors.audit_events_of(self.community)
        )
        events = filtered(filterset)
        services.audit_log_export(
            actor=request.user, community=self.community, filters=request.GET.dict()
        )
        response = StreamingHttpResponse(self.rows(events), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="hearth-{self.community.slug}-audit.csv"'
        )
        return response

    def rows(self, events: Any) -> Iterator[str]:
        buffer = _Echo()
        writer = csv.writer(buffer)
        yield writer.writerow(self.columns)
        for e in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.created_at.isoformat(),
                    # An email may start with "=" or "+", a slug with "-": every text cell.
                    _csv_safe(e.actor_label),
                    _csv_safe(e.action),
                    _csv_safe(e.target_type),
                    _csv_safe(e.target_id),
                    _csv_safe(e.target_label),
                    _json(e.before),
                    _json(e.after),
                    e.ip or "",
                ]
            )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _json(value: Any) -> str:
    return "" if value is None else _csv_safe(json.dumps(value, sort_keys=True))


def _csv_safe(value: str) -> str:
    """Spreadsheet apps run cells that start with = + - @ as formulas; quote them out."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

"""Introductions and key-member care in HTML: the introductions page (filter by status, counts
per manager), a member's introduction actions from the profile, and the key-members page (gone
quiet first, everyone by owner, the quiet-days setting and the handover form). Thin views:
form → service or selector → render."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import selectors, selectors_intros, services_intros
from .exceptions import ApplicationError
from .intros import INTRO_REASON_MAX, Introduction, IntroductionStatus
from .models import Member, User
from .permissions import Capability
from .services_intros import QUIET_DAYS_MAX, QUIET_DAYS_MIN
from .views_base import CommunityView


class IntroductionForm(forms.Form):
    member_b = forms.UUIDField(label=gettext_lazy("Introduce to"))
    reason = forms.CharField(
        label=gettext_lazy("Why they should meet"),
        max_length=INTRO_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class IntroductionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=IntroductionStatus.choices)
    next = forms.CharField(required=False)


class QuietDaysForm(forms.Form):
    quiet_after_days = forms.IntegerField(
        label=gettext_lazy("Gone quiet after (days)"),
        min_value=QUIET_DAYS_MIN,
        max_value=QUIET_DAYS_MAX,
    )


class HandoverForm(forms.Form):
    from_user = forms.UUIDField()
    to_user = forms.UUIDField()
    confirm = forms.BooleanField()


class IntroductionListView(CommunityView):
    """Every introduction of the community, newest first, filtered by status; with how many
    each teammate made, by status."""

    template_name = "members/introductions.html"
    read_capability = Capability.MEMBERS_READ
    page_size = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        intros = selectors_intros.introductions_of(self.community)
        if status in IntroductionStatus.values:
            intros = intros.filter(status=status)
        else:
            status = ""
        page = Paginator(intros, self.page_size).get_page(self.request.GET.get("page"))
        context.update(
            page=page,
            intros=list(page.object_list),
            status=status,
            statuses=IntroductionStatus.choices,
            per_manager=selectors_intros.introduction_counts_per_manager(self.community),
            can_edit=self.can(Capability.MEMBERS_EDIT),
        )
        return context


def _member_or_none(view: CommunityView, public_id: object) -> Member | None:
    return view.scoped(Member).select_related("community").filter(public_id=public_id).first()


class IntroductionCreateView(CommunityView):
    """From a profile: introduce this member to another one."""

    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT
    http_method_names = ["post"]

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.get_scoped_or_404(
            Member.objects.select_related("community"), public_id=member_id
        )
        url = reverse("member_profile", args=[community_slug, member_id]) + "#introductions"
        form = IntroductionForm(request.POST)
        other = _member_or_none(self, form.data.get("member_b")) if form.is_valid() else None
        if other is None:
            messages.error(request, _("Choose a member of this community and give a reason."))
            return redirect(url)
        try:
            services_intros.introduction_create(
                actor=request.user,
                member_a=member,
                member_b=other,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(url)
        messages.success(request, _("Introduction proposed."))
        return redirect(url)


class IntroductionStatusView(CommunityView):
    """Move an introduction on (made, connected, declined); back to where the button was."""

    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT
    http_method_names = ["post"]

    def post(self, request: HttpRequest, community_slug: str, intro_id: str) -> HttpResponse:
        intro = self.get_scoped_or_404(
            Introduction.objects.select_related("community"), public_id=intro_id
        )
        form = IntroductionStatusForm(request.POST)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = ""
        back = back or reverse("introductions", args=[community_slug])
        if not form.is_valid():
            messages.error(request, _("Choose one of the introduction statuses."))
            return redirect(back)
        try:
            services_intros.introduction_set_status(
                actor=request.user, introduction=intro, status=form.cleaned_data["status"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        messages.success(
            request,
            _("Introduction marked %(status)s.")
            % {"status": IntroductionStatus(form.cleaned_data["status"]).label.lower()},
        )
        return redirect(back)


class KeyMembersView(CommunityView):
    """Key members: the ones gone quiet first, then everyone by relationship owner; the
    quiet-days setting and the handover form for roles that may edit members."""

    template_name = "members/key_members.html"
    read_capability = Capability.MEMBERS_READ
    quiet_shown = 100

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        quiet = list(selectors_intros.gone_quiet(self.community, now)[: self.quiet_shown])
        for m in quiet:
            m.days_quiet = selectors_intros.days_quiet(m, now)
        key_members = list(selectors_intros.key_members_of(self.community))
        owners: dict[int | None, dict[str, Any]] = {}
        for m in key_members:
            group = owners.setdefault(
                m.relationship_owner_id, {"owner": m.relationship_owner, "members": []}
            )
            group["members"].append(m)
        can_edit = self.can(Capability.MEMBERS_EDIT)
        context.update(
            quiet=quiet,
            groups=list(owners.values()),
            key_count=len(key_members),
            can_edit=can_edit,
        )
        if can_edit:
            context.update(
                quiet_form=QuietDaysForm(
                    initial={"quiet_after_days": self.community.quiet_after_days}
                ),
                handover_from=[g for g in owners.values() if g["owner"] is not None],
                team=[m.user for m in selectors.team_of(self.community)],
            )
        return context


class _KeyMembersActionView(CommunityView):
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT
    http_method_names = ["post"]

    def done(self, message: str = "", error: str = "") -> HttpResponse:
        if error:
            messages.error(self.request, error)
        else:
            messages.success(self.request, message)
        return redirect(reverse("key_members", args=[self.community.slug]))


class QuietDaysView(_KeyMembersActionView):
    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = QuietDaysForm(request.POST)
        if not form.is_valid():
            return self.done(
                error=_("Choose between %(a)d and %(b)d days.")
                % {"a": QUIET_DAYS_MIN, "b": QUIET_DAYS_MAX}
            )
        services_intros.community_set_quiet_days(
            actor=request.user, community=self.community, days=form.cleaned_data["quiet_after_days"]
        )
        return self.done(_("Saved."))


class HandoverView(_KeyMembersActionView):
    """Hand every key member of one teammate to another (confirmed with a tick)."""

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = HandoverForm(request.POST)
        if not form.is_valid():
            return self.done(error=_("Choose both teammates and tick the confirmation."))
        from_user = User.objects.filter(public_id=form.cleaned_data["from_user"]).first()
        to_user = User.objects.filter(public_id=form.cleaned_data["to_user"]).first()
        if from_user is None or to_user is None:
            return self.done(error=_("Choose both teammates."))
        try:
            moved = services_intros.key_members_reassign(
                actor=request.user, community=self.community, from_user=from_user, to_user=to_user
            )
        except ApplicationError as exc:
            return self.done(error=exc.message)
        return self.done(
            _("%(n)d key members handed over to %(name)s.")
            % {"n": len(moved), "name": to_user.display_name}
        )

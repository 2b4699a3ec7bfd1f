"""A member's privacy pages: the JSON export (personal-data roles) and the erasure confirmation
(editors). Thin: look up the member in this community, call members.privacy, answer."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import privacy
from .exceptions import ApplicationError
from .models import Member
from .permissions import Capability
from .views_base import CommunityView

REASON_MAX = 500


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand this removes the member's personal data for good."),
        required=True,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (kept in the audit log; no personal data)"),
        max_length=REASON_MAX,
        required=False,
    )


class MemberPrivacyExportView(CommunityView):
    """Everything about one member as a JSON download."""

    read_capability = Capability.MEMBERS_PII

    def get(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.get_scoped_or_404(
            Member.objects.select_related("community", "relationship_owner"), public_id=member_id
        )
        data = privacy.member_export(actor=request.user, member=member)
        response = JsonResponse(data, encoder=DjangoJSONEncoder, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = (
            f'attachment; filename="hearth-{self.community.slug}-member-{member.public_id}.json"'
        )
        return response


class MemberEraseView(CommunityView):
    """GET: what erasing this member removes, and the confirmation form; POST: erase."""

    template_name = "members/erase.html"
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member = privacy.erasure_preview(self.scoped(Member), self.kwargs["member_id"])
        if member is None:
            raise Http404("No such member.")
        context.update(
            member=member,
            n_merges=member.n_merges_a + member.n_merges_b,
            form=kwargs.get("form") or EraseForm(),
        )
        return context

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.get_scoped_or_404(
            Member.objects.select_related("community"), public_id=member_id
        )
        form = EraseForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            privacy.member_erase(
                actor=request.user, member=member, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The member's personal data has been erased."))
        return redirect("member_profile", community_slug, member_id)

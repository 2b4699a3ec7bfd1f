"""Merging members in the browser: the review inbox (pending suggestions side by side, accept or
reject; recent merges with Undo) and "Merge with…" from a profile (search, confirm, merge).
Each view is thin: form → service or selector → render or redirect."""

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from . import merge_selectors, merging
from .exceptions import ApplicationError
from .ledger import Member, MergeSuggestion
from .merges import MemberMerge
from .permissions import Capability
from .views_base import CommunityView


def _sides(community: Any, members: list[Member]) -> dict[int, Member]:
    """The members with identities and counts, by id, in two queries however many."""
    rows = (
        merge_selectors.with_counts(Member.objects.filter(community=community))
        .filter(pk__in={m.pk for m in members})
        .prefetch_related("identities")
    )
    return {m.pk: m for m in rows}


class MergeInboxView(CommunityView):
    template_name = "members/merge_inbox.html"
    read_capability = Capability.MEMBERS_EDIT
    page_size = 25
    recent_shown = 20

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        page = Paginator(merge_selectors.pending_suggestions(self.community), self.page_size)
        page = page.get_page(self.request.GET.get("page"))
        suggestions = list(page.object_list)
        sides = _sides(self.community, [m for s in suggestions for m in (s.member_a, s.member_b)])
        rows = []
        for s in suggestions:
            a, b = sides[s.member_a_id], sides[s.member_b_id]
            rows.append({"suggestion": s, "a": a, "b": b, "default": merging.more_active(a, b)})
        context.update(
            page=page,
            rows=rows,
            merges=list(merge_selectors.recent_merges(self.community)[: self.recent_shown]),
        )
        return context


class _InboxActionView(CommunityView):
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT
    http_method_names = ["post"]

    def done(self, message: str | None = None, error: ApplicationError | None = None) -> Any:
        if error is not None:
            messages.error(self.request, error.message)
        elif message:
            messages.success(self.request, message)
        return redirect("merge_inbox", self.community.slug)

    def suggestion(self) -> MergeSuggestion:
        return self.get_scoped_or_404(
            MergeSuggestion.objects.all(), public_id=self.kwargs["suggestion_id"]
        )


class SuggestionAcceptView(_InboxActionView):
    def post(self, request: HttpRequest, community_slug: str, suggestion_id: str) -> HttpResponse:
        suggestion = self.suggestion()
        survivor = None
        if chosen := request.POST.get("survivor"):
            survivor = self.scoped(Member).filter(public_id=chosen).first()
            if survivor is None:
                return self.done(error=ApplicationError(_("Choose one of the two members.")))
        try:
            merging.merge_suggestion_accept(
                actor=request.user, suggestion=suggestion, survivor=survivor
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Members merged."))


class SuggestionRejectView(_InboxActionView):
    def post(self, request: HttpRequest, community_slug: str, suggestion_id: str) -> HttpResponse:
        try:
            merging.merge_suggestion_reject(actor=request.user, suggestion=self.suggestion())
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Suggestion rejected; this pair will not be suggested again."))


class MergeUndoView(_InboxActionView):
    def post(self, request: HttpRequest, community_slug: str, merge_id: str) -> HttpResponse:
        merge = self.get_scoped_or_404(
            MemberMerge.objects.select_related("community"), public_id=merge_id
        )
        try:
            merging.member_unmerge(actor=request.user, merge=merge)
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Merge undone."))


class MemberMergeView(CommunityView):
    """GET: search another member (?q=), then confirm one (?member=<id>) side by side.
    POST member=<id>: merge that member into this one."""

    template_name = "members/merge_member.html"
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT
    candidates_shown = 20

    def survivor(self) -> Member:
        return self.get_scoped_or_404(
            Member.objects.filter(merged_into__isnull=True), public_id=self.kwargs["member_id"]
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        survivor = self.survivor()
        query = self.request.GET.get("q", "")[:100]
        other = None
        if chosen := self.request.GET.get("member"):
            other = (
                self.scoped(Member)
                .filter(
                    public_id__in=[chosen] if _is_uuid(chosen) else [], merged_into__isnull=True
                )
                .exclude(pk=survivor.pk)
                .first()
            )
        candidates = list(
            merge_selectors.merge_candidates(self.community, survivor, query)[
                : self.candidates_shown
            ]
        )
        sides = _sides(self.community, [survivor, *([other] if other else [])])
        context.update(
            member=sides[survivor.pk],
            other=sides[other.pk] if other else None,
            query=query,
            candidates=candidates,
        )
        return context

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        survivor = self.survivor()
        chosen = request.POST.get("member", "")
        merged = self.scoped(Member).filter(public_id__in=[chosen] if _is_uuid(chosen) else [])
        merged = merged.first()
        url = reverse("member_profile", args=[self.community.slug, survivor.public_id])
        if merged is None:
            messages.error(request, _("Choose a member of this community."))
            return redirect(url)
        try:
            merging.member_merge(
                actor=request.user, community=self.community, survivor=survivor, merged=merged
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(url)
        messages.success(request, _("Members merged."))
        return redirect(url)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

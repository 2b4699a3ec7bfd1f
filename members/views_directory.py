"""The member directory and profiles: search and filters with htmx, saved segments, a CSV export,
and on a profile the identities, timeline, notes, tags and key-member form. Each view is thin:
form → service or selector → render."""

import csv
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from . import profile_sections, selectors, selectors_intros, services_relations
from .exceptions import ApplicationError
from .filters import MEMBER_SORTS, MemberDirectoryFilter
from .forms import KeyRoleForm, NoteForm, SegmentForm, TagForm
from .models import Member, Note, SavedSegment, Tag
from .permissions import Capability
from .views import _csv_safe, _Echo
from .views_base import CommunityView, FilteredListMixin, filtered

DIRECTORY_PARAMS = (*MemberDirectoryFilter.base_filters, "page")


def directory_query(data: QueryDict, *, keep_page: bool = False) -> str:
    """The directory's own parameters of a query string, re-encoded (what a segment stores and
    what the pager and the export carry)."""
    query = QueryDict(mutable=True)
    for key in DIRECTORY_PARAMS:
        if key == "page" and not keep_page:
            continue
        values = [v for v in data.getlist(key) if v]
        if values:
            query.setlist(key, values)
    return query.urlencode()


def safe_link(url: str) -> str:
    """Only web links from platforms become hrefs; a `javascript:` URL is shown as nothing."""
    return url if url.lower().startswith(("https://", "http://")) else ""


class _DirectoryMixin(CommunityView):
    read_capability = Capability.MEMBERS_READ

    def directory_filter(self) -> MemberDirectoryFilter:
        return MemberDirectoryFilter(
            self.request.GET,
            queryset=selectors.members_of(self.community),
            search_email=self.can(Capability.MEMBERS_PII),
            community=self.community,
        )


class MemberDirectoryView(FilteredListMixin, _DirectoryMixin):
    """The directory; htmx swaps only the results when a filter changes."""

    template_name = "members/directory.html"
    partial_template_name = "members/_partials/directory_results.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset = self.directory_filter()
        page = self.page_of(filterset)
        query = directory_query(self.request.GET)
        context.update(
            filter=filterset,
            page=page,
            members=list(page.object_list),
            query=query,
            show_pii=self.can(Capability.MEMBERS_PII),
            can_edit=self.can(Capability.MEMBERS_EDIT),
        )
        if not self.is_partial():
            context.update(
                tags=list(selectors.tags_of(self.community)),
                platforms=selectors.platforms_of(self.community),
                segments=list(selectors.segments_of(self.community, self.request.user)),
                segment_form=SegmentForm(initial={"query": query}),
                sorts=[(key, label) for key, (label, _o) in MEMBER_SORTS.items()],
            )
        return context


class MemberExportView(_DirectoryMixin):
    """The filtered directory as CSV, streamed; emails included, so personal-data roles only."""

    read_capability = Capability.MEMBERS_PII
    columns = (
        "id",
        "display_name",
        "email",
        "identities",
        "tags",
        "key_role",
        "relationship_owner",
        "staff",
        "bot",
        "joined_at",
        "first_contribution_at",
        "last_active_at",
    )

    def get(self, request: HttpRequest, community_slug: str) -> StreamingHttpResponse:
        filterset = self.directory_filter()
        members = filtered(filterset)
        services_relations.member_directory_export(
            actor=request.user,
            community=self.community,
            filters=QueryDict(directory_query(request.GET)).dict(),
        )
        response = StreamingHttpResponse(self.rows(members), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="hearth-{self.community.slug}-members.csv"'
        )
        return response

    def rows(self, members: QuerySet[Member]) -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(self.columns)
        # Prefetches run per chunk: three queries per 500 members, streamed.
        for m in members.iterator(chunk_size=500):
            owner = m.relationship_owner
            yield writer.writerow(
                [
                    str(m.public_id),
                    _csv_safe(m.display_name),
                    _csv_safe(m.email or ""),
                    _csv_safe(
                        " ".join(
                            f"{i.platform}:{i.username or i.platform_user_id}"
                            for i in m.identities.all()
                        )
                    ),
                    _csv_safe(", ".join(t.name for t in m.tags.all())),
                    m.key_role,
                    _csv_safe(owner.email) if owner else "",
                    m.staff,
                    m.bot,
                    _iso(m.joined_at),
                    _iso(m.first_contribution_at),
                    _iso(m.last_active_at),
                ]
            )


def _uuids(values: list[str]) -> list[uuid.UUID]:
    """The well-formed ids among `values`; a malformed one names no member."""
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


# --- saved segments and bulk tagging ------------------------------------------------------------


class _DirectoryActionView(CommunityView):
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_READ
    http_method_names = ["post"]

    def done(self, query: str = "", error: ApplicationError | None = None) -> HttpResponse:
        if error is not None:
            messages.error(self.request, error.message)
        url = reverse("member_directory", args=[self.community.slug])
        return redirect(f"{url}?{query}" if query else url)


class SegmentSaveView(_DirectoryActionView):
    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = SegmentForm(request.POST)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Give the segment a name.")))
        query = directory_query(QueryDict(form.cleaned_data["query"]))
        try:
            segment = services_relations.segment_save(
                actor=request.user,
                community=self.community,
                name=form.cleaned_data["name"],
                query=query,
            )
        except ApplicationError as exc:
            return self.done(query, error=exc)
        messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
        return self.done(query)


class SegmentDeleteView(_DirectoryActionView):
    def post(self, request: HttpRequest, community_slug: str, segment_id: str) -> HttpResponse:
        segment = self.get_scoped_or_404(
            SavedSegment.objects.select_related("community"),
            public_id=segment_id,
            owner=request.user,
        )
        services_relations.segment_delete(actor=request.user, segment=segment)
        messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
        return self.done()


class MemberBulkTagView(_DirectoryActionView):
    """Tag the members ticked in the directory."""

    write_capability = Capability.MEMBERS_EDIT

    def post(self, request: HttpRequest, community_slug: str) -> HttpResponse:
        form = TagForm(request.POST)
        ids = _uuids(request.POST.getlist("member")[: MemberDirectoryView.page_size])
        query = directory_query(QueryDict(request.POST.get("query", "")), keep_page=True)
        if not form.is_valid() or not ids:
            return self.done(query, ApplicationError(_("Tick some members and name a tag.")))
        members = list(self.scoped(Member).filter(public_id__in=ids).values_list("pk", flat=True))
        try:
            count = services_relations.members_tag_bulk(
                actor=request.user,
                community=self.community,
                member_ids=members,
                tag_name=form.cleaned_data["tag"],
            )
        except ApplicationError as exc:
            return self.done(query, exc)
        messages.success(
            request,
            _("Tagged %(n)d members “%(tag)s”.") % {"n": count, "tag": form.cleaned_data["tag"]},
        )
        return self.done(query)


# --- the profile -------------------------------------------------------------------------------


class MemberProfileView(CommunityView):
    template_name = "members/profile.html"
    read_capability = Capability.MEMBERS_READ
    timeline_size = 25
    notes_shown = 50
    intros_shown = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        member = selectors.member_profile(self.community, self.kwargs["member_id"])
        if member is None:
            raise Http404("No such member.")
        timeline = Paginator(selectors.member_timeline(member), self.timeline_size).get_page(
            self.request.GET.get("page")
        )
        activities = list(timeline.object_list)
        for activity in activities:
            activity.link = safe_link(activity.url)
        notes = list(selectors.member_notes(member)[: self.notes_shown])
        for note in notes:
            # updated_at is set on every save, a moment after created_at on the first one.
            note.edited = note.updated_at - note.created_at > timedelta(seconds=1)
        can_edit = self.can(Capability.MEMBERS_EDIT)
        context.update(
            member=member,
            identities=list(member.identities.all()),
            member_tags=list(member.tags.all()),
            timeline=timeline,
            activities=activities,
            notes=notes,
            show_pii=self.can(Capability.MEMBERS_PII),
            can_note=self.can(Capability.MEMBERS_NOTES),
            can_edit=can_edit,
            note_form=NoteForm(),
            sections=profile_sections.sections_for(member, self.membership.role),
            intros=list(selectors_intros.introductions_of_member(member)[: self.intros_shown]),
        )
        if can_edit:
            team = [m.user for m in selectors.team_of(self.community)]
            owner = member.relationship_owner
            context.update(
                tag_form=TagForm(),
                intro_candidates=list(selectors_intros.recent_members_for_intro(member)),
                all_tags=list(selectors.tags_of(self.community)),
                key_form=KeyRoleForm(
                    team=team,
                    initial={
                        "key_role": member.key_role,
                        "relationship_owner": str(owner.public_id) if owner else "",
                    },
                ),
            )
        return context


class _MemberActionView(CommunityView):
    """A POST on one member; answers with a redirect to the profile and a message."""

    read_capability = Capability.MEMBERS_READ
    http_method_names = ["post"]
    anchor = ""

    def member(self) -> Member:
        return self.get_scoped_or_404(
            Member.objects.select_related("community", "relationship_owner"),
            public_id=self.kwargs["member_id"],
        )

    def done(
        self, message: str | None = None, error: ApplicationError | None = None
    ) -> HttpResponse:
        if error is not None:
            messages.error(self.request, error.message)
        elif message:
            messages.success(self.request, message)
        url = reverse("member_profile", args=[self.community.slug, self.kwargs["member_id"]])
        return redirect(f"{url}#{self.anchor}" if self.anchor else url)


class NoteCreateView(_MemberActionView):
    write_capability = Capability.MEMBERS_NOTES
    anchor = "notes"

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.member()
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Write something in the note.")))
        try:
            services_relations.note_create(
                actor=request.user, member=member, body=form.cleaned_data["body"]
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Note added."))


class _NoteActionView(_MemberActionView):
    write_capability = Capability.MEMBERS_NOTES
    anchor = "notes"

    def note(self) -> Note:
        return self.get_scoped_or_404(
            Note.objects.select_related("member__community"),
            public_id=self.kwargs["note_id"],
            member__public_id=self.kwargs["member_id"],
        )


class NoteUpdateView(_NoteActionView):
    def post(
        self, request: HttpRequest, community_slug: str, member_id: str, note_id: str
    ) -> HttpResponse:
        note = self.note()
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Write something in the note.")))
        try:
            services_relations.note_update(
                actor=request.user, note=note, body=form.cleaned_data["body"]
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Note saved."))


class NoteDeleteView(_NoteActionView):
    def post(
        self, request: HttpRequest, community_slug: str, member_id: str, note_id: str
    ) -> HttpResponse:
        try:
            services_relations.note_delete(actor=request.user, note=self.note())
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Note deleted."))


class MemberTagView(_MemberActionView):
    write_capability = Capability.MEMBERS_EDIT
    anchor = "tags"

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.member()
        form = TagForm(request.POST)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Name the tag.")))
        try:
            tag = services_relations.member_tag(
                actor=request.user, member=member, tag_name=form.cleaned_data["tag"]
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Tagged “%(tag)s”.") % {"tag": tag.name})


class MemberUntagView(_MemberActionView):
    write_capability = Capability.MEMBERS_EDIT
    anchor = "tags"

    def post(
        self, request: HttpRequest, community_slug: str, member_id: str, tag_id: str
    ) -> HttpResponse:
        member = self.member()
        tag = self.get_scoped_or_404(Tag.objects.all(), public_id=tag_id)
        services_relations.member_untag(actor=request.user, member=member, tag=tag)
        return self.done(_("Tag “%(tag)s” removed.") % {"tag": tag.name})


class MemberKeyRoleView(_MemberActionView):
    write_capability = Capability.MEMBERS_EDIT
    anchor = "key-member"

    def post(self, request: HttpRequest, community_slug: str, member_id: str) -> HttpResponse:
        member = self.member()
        team = [m.user for m in selectors.team_of(self.community)]
        form = KeyRoleForm(request.POST, team=team)
        if not form.is_valid():
            return self.done(error=ApplicationError(_("Choose a key role and a teammate.")))
        try:
            services_relations.member_set_key_role(
                actor=request.user,
                member=member,
                key_role=form.cleaned_data["key_role"],
                owner=form.cleaned_data["relationship_owner"],
            )
        except ApplicationError as exc:
            return self.done(error=exc)
        return self.done(_("Key member details saved."))

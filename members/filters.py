"""Filters shared by HTML pages, CSV exports and the API: the audit log, the activity ledger and
the member list. Dates are the community's local days."""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Activity, ActivityKind, AuditEvent, Identity, KeyRole, Member, MemberTag


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        label=_("Actor email"), field_name="actor_label", lookup_expr="iexact"
    )
    action = django_filters.CharFilter(label=_("Action"), field_name="action")
    target_type = django_filters.CharFilter(label=_("Target type"), field_name="target_type")
    target = django_filters.CharFilter(
        label=_("Target"),
        method="filter_target",
        help_text=_("An id, or part of the target's name"),
    )
    since = django_filters.DateFilter(label=_("From"), method="filter_since")
    until = django_filters.DateFilter(label=_("Until"), method="filter_until")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    # Dates are the community's local days (its time zone is active); comparing the timestamp
    # with the day's bounds keeps the (community, created_at) index usable.
    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1)))

    def filter_target(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(target_id=value) | Q(target_label__icontains=value))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class ActivityFilter(django_filters.FilterSet):
    member = django_filters.UUIDFilter(label=_("Member id"), field_name="member__public_id")
    platform = django_filters.CharFilter(label=_("Platform"), field_name="platform")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ActivityKind.choices)
    thread_id = django_filters.CharFilter(label=_("Thread"), field_name="thread_id")
    since = django_filters.DateFilter(
        label=_("From"), method="filter_since", help_text=_("A local day, inclusive.")
    )
    until = django_filters.DateFilter(
        label=_("Until"), method="filter_until", help_text=_("A local day, inclusive.")
    )

    class Meta:
        model = Activity
        fields: list[str] = []

    def filter_since(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(occurred_at__gte=_day_start(value))

    def filter_until(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(occurred_at__lt=_day_start(value + timedelta(days=1)))


class MemberFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter(
        label=_("Platform"), method="filter_identity", help_text=_("Has an identity there.")
    )
    platform_user_id = django_filters.CharFilter(
        label=_("Platform user id"),
        method="filter_identity",
        help_text=_("With `platform`: the member behind that account."),
    )
    staff = django_filters.BooleanFilter()
    bot = django_filters.BooleanFilter()

    class Meta:
        model = Member
        fields: list[str] = []

    def filter_identity(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # EXISTS, not a join, so a member with two matching identities is listed once.
        identities = Identity.objects.filter(member=OuterRef("pk"), **{name: value})
        return queryset.filter(Exists(identities))


def _nulls_last(field: str, descending: bool) -> OrderBy:
    return F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)


# The directory's sort orders: (label, order_by). Each ends on the primary key so pages are
# stable; each leads with a column of a (community, ...) index.
MEMBER_SORTS: dict[str, tuple[str | Promise, tuple]] = {
    "-last_active": (_("Recently active"), (_nulls_last("last_active_at", True), "-id")),
    "last_active": (_("Least recently active"), (_nulls_last("last_active_at", False), "id")),
    "-joined": (_("Newest members"), (_nulls_last("joined_at", True), "-id")),
    "joined": (_("Earliest members"), (_nulls_last("joined_at", False), "id")),
    "name": (_("Name"), ("display_name", "id")),
}
DEFAULT_MEMBER_SORT = "-last_active"


class MemberDirectoryFilter(MemberFilter):
    """The directory and the member API: search, platform, tag, key member, joined and last-active
    ranges (local days), staff/bot, sort. Email is searched only when `search_email` is set (roles
    that may see personal data), so nobody can probe for an address they may not read."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        help_text=_("Part of a name or username (or email, for roles that may see it)."),
    )
    tag = django_filters.UUIDFilter(label=_("Tag"), method="filter_tag", help_text=_("Tag id."))
    key_role = django_filters.ChoiceFilter(
        label=_("Key member"),
        method="filter_key_role",
        choices=[("any", _("Any key member")), *KeyRole.choices[1:]],
    )
    joined_after = django_filters.DateFilter(label=_("Joined from"), method="filter_range")
    joined_before = django_filters.DateFilter(label=_("Joined until"), method="filter_range")
    active_after = django_filters.DateFilter(label=_("Active from"), method="filter_range")
    active_before = django_filters.DateFilter(label=_("Active until"), method="filter_range")
    sort = django_filters.ChoiceFilter(
        label=_("Sort"),
        method="filter_noop",
        choices=[(key, label) for key, (label, _order) in MEMBER_SORTS.items()],
        empty_label=None,
    )

    _RANGES = {
        "joined_after": ("joined_at__gte", 0),
        "joined_before": ("joined_at__lt", 1),
        "active_after": ("last_active_at__gte", 0),
        "active_before": ("last_active_at__lt", 1),
    }

    def __init__(
        self, *args: Any, search_email: bool = False, community: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.search_email = search_email
        # Narrows the search's subqueries; the queryset itself is already scoped.
        self.scope = {"community": community} if community is not None else {}

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:100]
        if not value:
            return queryset
        # A UNION of member ids, not `name LIKE ... OR EXISTS (identity LIKE ...)`: each arm is
        # a bitmap scan of its own trigram index on PostgreSQL (migration 0004), and the
        # planner sees how few rows match instead of walking the sort index row by row.
        by_member = Q(display_name__icontains=value)
        by_identity = Q(username__icontains=value)
        if self.search_email:
            by_member |= Q(email__icontains=value)
            by_identity |= Q(email__icontains=value)
        members = Member.objects.filter(by_member, **self.scope).values("pk")
        identities = Identity.objects.filter(by_identity, **self.scope).values("member_id")
        return queryset.filter(pk__in=members.union(identities))

    def filter_tag(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        tagged = MemberTag.objects.filter(member=OuterRef("pk"), tag__public_id=value)
        return queryset.filter(Exists(tagged))

    def filter_key_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "any":
            return queryset.exclude(key_role="")
        return queryset.filter(key_role=value)

    def filter_range(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        lookup, days = self._RANGES[name]
        return queryset.filter(**{lookup: _day_start(value + timedelta(days=days))})

    def filter_noop(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied in filter_queryset, with the default when absent

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        sort = self.form.cleaned_data.get("sort") or DEFAULT_MEMBER_SORT
        return queryset.order_by(*MEMBER_SORTS[sort][1])

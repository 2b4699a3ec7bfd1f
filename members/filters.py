"""Filters shared by HTML pages, CSV exports and the API: the audit log, the activity ledger and
the member list. Dates are the community's local days."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Activity, ActivityKind, AuditEvent, Identity, Member


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

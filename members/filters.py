"""The audit log's filters, shared by the HTML page, its CSV export and the API."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


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

from rest_framework.pagination import CursorPagination, PageNumberPagination


class Pagination(PageNumberPagination):
    """Every API list: `?page=N&page_size=M` (default 50, at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class LedgerPagination(CursorPagination):
    """The activity ledger: `?cursor=...&page_size=M`, newest first. A cursor, not page numbers,
    because a page number needs COUNT(*) over millions of rows and drifts as activity arrives."""

    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

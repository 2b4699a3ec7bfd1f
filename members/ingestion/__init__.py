"""Bulk ingestion into the activity ledger, exactly as ACTIVITY.md specifies.

`activities_ingest` is the one write path for the bulk API, webhooks, CSV and Hearth's own
activity. Per request, whatever the number of items (≤ 1,000), it runs a fixed set of queries:

  1. SELECT the identities of every (platform, platform_user_id) in the request
  2. INSERT the missing members                                   } only when some identity
  3. INSERT their identities … ON CONFLICT DO NOTHING RETURNING     } is new
  4. SELECT the stored parents (parent_id) of the new items              } only with parents
  5. INSERT the activities … ON CONFLICT DO NOTHING RETURNING id (one statement), each with
     replied_to_member already resolved from the batch or from step 4
  6. UPDATE replied_to_member of stored replies whose parent just arrived (index-driven)
  7. UPDATE members' derived facts from the new activities' aggregates (one UPDATE … FROM VALUES)
  8. SELECT identities sharing a new identity's email, INSERT merge suggestions   } only with
                                                                                   } new emails
Two concurrent requests creating the same identity: the loser's identity INSERT does nothing,
it re-selects the winner's row and deletes the member it made for nothing (race path only).
Resolving replied_to_member before the INSERT (not by an UPDATE after it) writes each row once:
updating that column touches every index of the ledger. Known gap: a reply and its parent
arriving in two concurrent requests can both miss each other; the reply stays unresolved (the
partial index members_activity_open_parent makes a periodic repair cheap).

Raw INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL, and SQLite ≥ 3.35) is used instead
of bulk_create(ignore_conflicts=True) because the latter cannot say which rows were inserted,
and created vs duplicate counts must be exact even when another request races this one.
"""

from ..ledger import Identity  # members.ingestion.Identity, as before the split (tests patch it)
from .service import IngestResult, activities_ingest
from .validation import MAX_ITEMS, CleanActivity, MemberRef, activity_validate

__all__ = [
    "MAX_ITEMS",
    "CleanActivity",
    "Identity",
    "IngestResult",
    "MemberRef",
    "activities_ingest",
    "activity_validate",
]

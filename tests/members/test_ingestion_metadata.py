"""Metadata is encoded once, by validation, and stored as that JSON text: it must read back as
the same object whatever it holds."""

from members.models import Activity

from .test_ingestion import ingest, item


def test_metadata_reads_back_as_sent(community):
    metadata = {
        "é": "ü \u2028 😀",
        "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}},
        "quote": 'a "b" \\ c',
        "percent": "100% %s %(x)s",
    }
    assert ingest(community, [item(1, metadata=metadata), item(2)]).created == 2
    assert Activity.objects.get(external_id="post-1").metadata == metadata
    assert Activity.objects.get(external_id="post-2").metadata == {}

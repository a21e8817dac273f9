"""Links: one Work record bound to one QuickBooks record.

Both directions are unique, because QBO's DisplayName rule means one QBO customer can only ever stand
for one Work client: a second link to the same QBO id would make two Work clients overwrite each other.
The per-side merge bases of the two-way client sync live in ``Link.synced``, as
``{"work": {...}, "qbo": {...}}``.
"""

from __future__ import annotations

import peewee

from qbosync_desktop.store.models.base import BaseModel, JSONField, utcnow

# Kinds of linked records. Work entity names, so problems and audit rows read naturally.
KINDS = ("client", "site", "item", "invoice", "payment", "vendor", "bill")

#: Where the two-way client sync flags a link whose QuickBooks customer changed during our write
#: (``sync/clients/stale.py``), and the condition of the partial index that finds those few links
#: without reading every link (schema version 102). The query must use the very same text.
RECHECK_PATH = "$.twoway.recheck"
RECHECK_SQL = f"json_extract(synced, '{RECHECK_PATH}') IS NOT NULL"


class Link(BaseModel):
    """One Work record ⇄ one QBO record.

    ``synced`` keeps the field values last written/read on both sides (E uses it as the merge base of
    the two-way client sync); ``fingerprint`` is a hash of the payload last sent, so an unchanged Work
    record costs no QBO request at all.
    """

    id = peewee.AutoField()
    kind = peewee.CharField()
    work_id = peewee.CharField()
    qbo_id = peewee.CharField()
    qbo_sync_token = peewee.CharField(null=True)
    work_version = peewee.CharField(null=True)
    fingerprint = peewee.CharField(null=True)
    #: created | matched | imported | linked_by_name
    origin = peewee.CharField(default="created")
    synced = JSONField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sync_link"
        indexes = ((("kind", "work_id"), True), (("kind", "qbo_id"), True))

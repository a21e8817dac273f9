"""The accounting API's resources apart from plain entity writes: query, batch, CDC, company info.

Kept free of HTTP so the WSGI layer only routes, meters and serialises. Every function runs with the
company lock held by the caller.
"""

from __future__ import annotations

from typing import Any

from qbosync_desktop.sandbox.qbo import operations, query
from qbosync_desktop.sandbox.qbo.clock import intuit_time, parse_time
from qbosync_desktop.sandbox.qbo.faults import ApiFault, business, invalid_request, required
from qbosync_desktop.sandbox.qbo.storage import ENTITIES, HIDES_INACTIVE, INDEXED, Company

BATCH_LIMIT = 30
CDC_MAX_DAYS = 30
CDC_MAX_PER_ENTITY = 1000
WRITE_OPERATIONS = ("create", "update", "delete", "void")


def run_query(company: Company, text: str) -> dict[str, Any]:
    q = query.parse(text, ENTITIES)
    return query.execute(q, _candidates(company, q), hides_inactive=q.entity in HIDES_INACTIVE)


def _candidates(company: Company, q: query.Query) -> list[query.Row]:
    """The rows a query can match, in Id order: by Id, by a unique name or by update time when a
    condition allows (a lookup instead of a scan of the whole company), else every row.

    Only narrows: every condition is still evaluated on the rows returned.
    """
    spec = INDEXED.get(q.entity)
    best: set[str] | None = None
    for cond in q.where:
        name = cond.field.lower()
        ids: set[str] | None = None
        values = cond.value if cond.op == "in" else (cond.value,)
        if name == "id" and cond.op in ("=", "in"):
            ids = {_id_text(v) for v in values}
        elif (spec is not None and name == spec[1].lower() and cond.op in ("=", "in")
              and all(isinstance(v, str) and v.strip() and not _numeric(v) for v in values)):
            ids = {i for v in values for e, i in company.lookup(spec[0], v) if e == q.entity}
        elif name == "metadata.lastupdatedtime" and cond.op in (">", ">="):
            try:
                since = parse_time(cond.value)
            except (TypeError, ValueError):
                continue  # the evaluator reports the bad literal
            ids = set(company.changed_ids(q.entity, since))
        if ids is not None and (best is None or len(ids) < len(best)):
            best = ids
    if best is None:
        return company.rows(q.entity)
    return company.rows_of(q.entity, best)


def _numeric(text: str) -> bool:
    """A literal the evaluator compares as a number (``'1001' = '1001.0'``): not narrowed by name."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _id_text(value: Any) -> str:
    """The stored Id a literal equals (``Id = 12``, ``Id = '12'``, ``Id = '12.0'``)."""
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(value)


def batch(company: Company, body: Any) -> dict[str, Any]:
    """Items run independently: one item's fault never stops the others (correlate by bId)."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise invalid_request("BatchItemRequest must be a list")
    if len(items) > BATCH_LIMIT:
        raise business(f"The batch request has {len(items)} items; at most {BATCH_LIMIT} are allowed", "BatchItemRequest")
    responses = []
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        try:
            responses.append({"bId": bid, **_batch_item(company, item)})
        except ApiFault as fault:
            responses.append({"bId": bid, "Fault": fault.fault()})
    return {"BatchItemResponse": responses}


def _batch_item(company: Company, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not item.get("bId"):
        raise required("bId")
    if "Query" in item:
        return {"QueryResponse": run_query(company, str(item["Query"]))}
    operation = str(item.get("operation") or "").lower()
    if operation not in WRITE_OPERATIONS:
        raise invalid_request(f"Batch item operation must be one of {', '.join(WRITE_OPERATIONS)}")
    entity = next((k for k in item if k in operations.RULES), None)
    if entity is None:
        raise invalid_request("Batch item has no entity object (e.g. \"Customer\": {...})")
    include = "void" if operation == "void" or item.get("optionsData") == "void" else ""
    if operation == "void":
        operation = "update" if entity == "Payment" else "void"
    return {entity: operations.write(company, entity, item[entity], operation=operation, include=include)}


def cdc(company: Company, entities: str | None, changed_since: str | None) -> dict[str, Any]:
    """Changes since a moment: live objects as they are now, deleted ones as ``status: Deleted``."""
    if not entities:
        raise required("entities")
    if not changed_since:
        raise required("changedSince")
    try:
        since = parse_time(changed_since)
    except ValueError:
        raise invalid_request(f"changedSince is not an ISO 8601 date-time: {changed_since}") from None
    if company.clock.now() - since > CDC_MAX_DAYS * 86400:
        raise business(f"changedSince must be within the last {CDC_MAX_DAYS} days", "changedSince")
    lookup = {e.lower(): e for e in ENTITIES}
    responses = []
    for name in [part.strip() for part in entities.split(",") if part.strip()]:
        entity = lookup.get(name.lower())
        if entity is None:
            raise invalid_request(f"Unknown entity in entities: {name}")
        changed: list[tuple[float, dict[str, Any]]] = [
            (updated, obj) for obj, _created, updated in company.rows_of(entity, company.changed_ids(entity, since))
        ]
        changed += [
            (ts, {"domain": "QBO", "status": "Deleted", "Id": obj_id, "MetaData": {"LastUpdatedTime": intuit_time(ts)}})
            for obj_id, ts in company.tombstones[entity].items() if ts >= since
        ]
        changed.sort(key=lambda pair: pair[0])
        objs = [obj for _ts, obj in changed[:CDC_MAX_PER_ENTITY]]
        if objs:
            responses.append({entity: objs, "startPosition": 1, "maxResults": len(objs), "totalCount": len(objs)})
        else:
            responses.append({})
    return {"CDCResponse": [{"QueryResponse": responses}]}

"""Every Work resource table pages in ``(updated_at, id)`` order through an index, never a scan and sort."""

from __future__ import annotations

from qbosync_desktop.sandbox.work.db import RESOURCES, WorkDatabase


def test_every_resource_table_pages_through_its_own_index(tmp_path):
    wdb = WorkDatabase.open(tmp_path / "work.sqlite3")
    try:
        with wdb.connection() as db:
            for resource, model in wdb.tables.items():
                table = RESOURCES[resource][0]
                query = (model.select().where((model.updated_at > 5) | ((model.updated_at == 5) & (model.id > 7)))
                         .where(model.updated_at >= 1).order_by(model.updated_at, model.id).limit(101))
                sql, params = query.sql()
                plan = " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
                assert f"{table}_updated_at_id" in plan and "TEMP B-TREE" not in plan, (resource, plan)
    finally:
        wdb.close()

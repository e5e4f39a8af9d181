"""A database outage is a clear 503, never a 500, wherever the error surfaces.

The real restart is exercised by ``make drills`` (MariaDB stopped and started under load);
these tests pin the three places an outage can surface in a request.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import InterfaceError, OperationalError

from tests.fixtures.factories import host


def refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("(2003) Can't connect: refused"))


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_outage_in_a_view_is_503(app, client, make_shop, monkeypatch):
    shop = make_shop("acme")
    from storefront.catalog import services

    def down(*args, **kwargs):
        raise refused()

    monkeypatch.setattr(services, "list_products", down)
    response = client.get("/products", headers=host(shop))
    assert response.status_code == 503 and "briefly unavailable" in response.text
    api = client.get("/api/v1/products", headers=host(shop))
    assert api.status_code == 503 and api.json["error"]["code"] == "unavailable"


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_outage_after_the_view_is_503(app, client, make_shop):
    shop = make_shop("acme")

    @app.after_request
    def touch_database(response):
        raise InterfaceError("ROLLBACK", {}, Exception("(0, '') connection lost"))

    response = client.get("/cart/", headers=host(shop))
    assert response.status_code == 503


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_a_real_bug_is_still_a_500(app, client, make_shop, monkeypatch):
    shop = make_shop("acme")
    from storefront.catalog import services

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(services, "list_products", bug)
    assert client.get("/products", headers=host(shop)).status_code == 500


def test_a_session_left_by_a_lost_race_or_connection_is_unavailable_not_a_bug(app, make_shop):
    """A flush that failed on an operational error (a deadlock, a node that went away)
    leaves the session refusing work until rolled back: whatever touches it next gets a
    PendingRollbackError, which is the database's state, not a bug (503, not 500)."""
    import pymysql
    from sqlalchemy import event, text
    from sqlalchemy.exc import PendingRollbackError

    from storefront.errors import is_database_down
    from storefront.extensions import db
    from storefront.tenancy import tenant_context

    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        from storefront.catalog.models import Category

        engine = db.engine

        def deadlock(_conn, _cursor, statement, *_args):
            if statement.startswith("INSERT INTO categories"):
                raise OperationalError(
                    statement, {}, pymysql.err.OperationalError(1213, "Deadlock")
                )

        event.listen(engine, "before_cursor_execute", deadlock)
        try:
            db.session.add(Category(slug="tools", name="Tools"))
            with pytest.raises(OperationalError):
                db.session.flush()
            with pytest.raises(PendingRollbackError) as caught:
                db.session.execute(text("SELECT 1"))
        finally:
            event.remove(engine, "before_cursor_execute", deadlock)
            db.session.rollback()
    assert is_database_down(caught.value)
    assert not is_database_down(KeyError("oops"))
    leftover_of_a_bug = PendingRollbackError(
        "This Session's transaction has been rolled back due to a previous exception during "
        "flush. Original exception was: (sqlite3.IntegrityError) UNIQUE constraint failed"
    )
    assert not is_database_down(leftover_of_a_bug)

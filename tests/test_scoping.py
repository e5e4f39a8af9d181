"""Row scoping fails closed: every claim here is a test that tries to break it."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import SHOP_ROLES, Role, User, roles_users
from storefront.extensions import db
from storefront.tenancy import (
    CrossTenantWrite,
    TenantNotBound,
    TenantScoped,
    all_tenants,
    current_tenant_or_none,
    tenant_context,
)

PLATFORM_TABLES = {
    "tenants",
    "domains",
    "registry_state",
    "shop_billing",
    "billing_events",
    "signups",
    "signup_failures",
}
# Keys unique across the platform on purpose: a random token that sessions and cookies
# carry must find exactly one account anywhere (and the scoped lookup still needs the shop).
GLOBAL_KEYS = {("users", ("fs_uniquifier",)), ("users", ("fs_token_uniquifier",))}
# Indexes for work that crosses shops on purpose: the outbox runner takes due rows of
# every shop in time order (each row then runs with its own shop bound).
GLOBAL_INDEXES = {("outbox", "ix_outbox_status_next_attempt_at")}


@pytest.fixture
def shops_with_users(app, two_shops, make_user):
    acme, globex = two_shops
    make_user(acme, "a1@example.com")
    make_user(acme, "a2@example.com")
    make_user(globex, "g1@example.com")
    return acme, globex


def emails() -> list[str]:
    return sorted(db.session.scalars(select(User.email)))


def test_query_with_no_shop_bound_raises(app, shops_with_users):
    with app.app_context():
        with pytest.raises(TenantNotBound):
            db.session.scalars(select(User)).all()
        with pytest.raises(TenantNotBound):
            db.session.execute(select(func.count()).select_from(User)).scalar()
        with pytest.raises(TenantNotBound):
            db.session.execute(update(User).values(active=False))
        with pytest.raises(TenantNotBound):
            db.session.execute(delete(User))


def test_selects_joins_and_counts_see_only_the_bound_shop(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context():
        with tenant_context(acme):
            assert emails() == ["a1@example.com", "a2@example.com"]
            joined = db.session.scalars(select(User.email).join(User.roles)).all()
            assert sorted(joined) == ["a1@example.com", "a2@example.com"]
            assert db.session.scalar(select(func.count(Role.id))) == len(SHOP_ROLES)
        with tenant_context(globex):
            assert emails() == ["g1@example.com"]
            # A filter naming the other shop's id still cannot reach its rows.
            assert db.session.scalars(select(User).where(User.tenant_id == acme.id)).all() == []


def test_a_statement_built_once_answers_for_whichever_shop_is_bound(app, shops_with_users):
    """The shop's id is a parameter of one criterion shared by all shops, and a statement
    reused across requests keeps its scoped form: neither may carry one shop's id into
    another shop's query."""
    acme, globex = shops_with_users
    statement = select(User.email).order_by(User.email)  # built once, like a module constant
    with app.app_context():
        for _ in range(2):
            with tenant_context(acme):
                assert db.session.scalars(statement).all() == ["a1@example.com", "a2@example.com"]
            with tenant_context(globex):
                assert db.session.scalars(statement).all() == ["g1@example.com"]


def test_a_caller_cannot_supply_the_shop_parameter(app, shops_with_users):
    from storefront.tenancy.scoping import SHOP_PARAM

    acme, globex = shops_with_users
    with app.app_context(), tenant_context(globex):
        found = db.session.scalars(select(User.email), {SHOP_PARAM: acme.id}).all()
        assert found == ["g1@example.com"]
        db.session.execute(update(User).values(name="x"), {SHOP_PARAM: acme.id})
        db.session.commit()
    with app.app_context(), tenant_context(acme):
        assert db.session.scalars(select(User.name)).all() == [None, None]


def test_bulk_updates_by_primary_key_are_refused_under_a_shop(app, shops_with_users):
    """SQLAlchemy's UPDATE by primary key (a list of rows) leaves loader criteria out."""
    acme, globex = shops_with_users
    with app.app_context():
        with all_tenants():
            a1 = db.session.scalar(select(User.id).where(User.email == "a1@example.com"))
        with tenant_context(globex), pytest.raises(CrossTenantWrite):
            db.session.execute(update(User), [{"id": a1, "name": "theirs"}])
        with tenant_context(globex), pytest.raises(CrossTenantWrite):
            db.session.execute(delete(User).where(User.id == bindparam("x")), [{"x": a1}])
        db.session.rollback()
        with all_tenants():
            assert db.session.get(User, a1).name is None


def test_inserts_through_the_session_get_the_bound_shop(app, shops_with_users):
    """``session.execute(insert(Model), rows)`` skips the flush that stamps objects."""
    acme, globex = shops_with_users
    with app.app_context():
        with pytest.raises(TenantNotBound):
            db.session.execute(insert(Role), [{"name": "nobody"}])
        with tenant_context(globex):
            with pytest.raises(CrossTenantWrite):
                db.session.execute(insert(Role), [{"name": "spy", "tenant_id": acme.id}])
            with pytest.raises(CrossTenantWrite):
                db.session.execute(insert(Role).values(name="spy", tenant_id=acme.id))
            db.session.execute(insert(Role), [{"name": "clerk"}, {"name": "buyer"}])
            db.session.execute(insert(Role), {"name": "packer"})
            db.session.commit()
        with all_tenants():
            placed = db.session.execute(
                select(Role.name, Role.tenant_id).where(
                    Role.name.in_(["clerk", "buyer", "packer", "spy", "nobody"])
                )
            ).all()
        assert sorted(placed) == [("buyer", globex.id), ("clerk", globex.id), ("packer", globex.id)]


def test_bulk_update_and_delete_are_scoped(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context():
        with tenant_context(globex):
            db.session.execute(update(User).values(name="hijacked"))
            db.session.execute(delete(User).where(User.email.like("a%")))
            db.session.commit()
        with tenant_context(acme):
            assert emails() == ["a1@example.com", "a2@example.com"]
            assert db.session.scalars(select(User.name)).all() == [None, None]


def test_session_get_does_not_hand_out_another_shops_object_from_the_identity_map(
    app, shops_with_users
):
    acme, globex = shops_with_users
    with app.app_context():
        with all_tenants():
            a1 = db.session.scalar(select(User).where(User.email == "a1@example.com"))
            assert a1 is not None
        with tenant_context(globex):
            assert db.session.get(User, a1.id) is None  # in the identity map, still None
        with tenant_context(acme):
            assert db.session.get(User, a1.id) is a1
        with pytest.raises(TenantNotBound):
            db.session.get(User, a1.id)


def test_relationship_loads_are_scoped(app, shops_with_users):
    acme, _globex = shops_with_users
    with app.app_context(), tenant_context(acme):
        user = db.session.scalar(select(User).where(User.email == "a1@example.com"))
        assert [r.name for r in user.roles] == ["customer"]


def test_inserts_are_stamped_and_cross_shop_writes_refused(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context():
        with tenant_context(acme):
            role = Role(name="auditor")
            db.session.add(role)
            db.session.flush()
            assert role.tenant_id == acme.id
            db.session.add(Role(name="intruder", tenant_id=globex.id))
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
            db.session.rollback()
        db.session.add(Role(name="orphan"))
        with pytest.raises(TenantNotBound):
            db.session.flush()
        db.session.rollback()


def test_a_moved_object_cannot_be_saved_into_another_shop(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context(), tenant_context(acme):
        user = db.session.scalar(select(User).where(User.email == "a1@example.com"))
        user.tenant_id = globex.id
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()


def test_the_database_refuses_a_link_between_two_shops(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context(), all_tenants():
        a_user = db.session.scalar(select(User.id).where(User.tenant_id == acme.id))
        g_role = db.session.scalar(select(Role.id).where(Role.tenant_id == globex.id))
        link = insert(roles_users).values(tenant_id=acme.id, user_id=a_user, role_id=g_role)
        with pytest.raises(IntegrityError):  # the database's own check, no hook's
            db.session.execute(link)
        db.session.rollback()


def test_tenant_context_restores_the_previous_binding(app, shops_with_users):
    acme, globex = shops_with_users
    with app.app_context():
        assert current_tenant_or_none() is None
        with tenant_context(acme):
            with tenant_context(globex):
                assert current_tenant_or_none().slug == "globex"
            assert current_tenant_or_none().slug == "acme"
            with pytest.raises(RuntimeError), tenant_context(globex):
                raise RuntimeError("boom")
            assert current_tenant_or_none().slug == "acme"
        assert current_tenant_or_none() is None


def test_all_tenants_is_the_explicit_escape(app, shops_with_users):
    with app.app_context(), all_tenants():
        assert len(emails()) == 3


def test_every_mapped_class_is_scoped_or_a_platform_table():
    offenders = []
    for mapper in db.Model.registry.mappers:
        table = mapper.local_table.name
        if table in PLATFORM_TABLES:
            continue
        if not issubclass(mapper.class_, TenantScoped):
            offenders.append(mapper.class_.__name__)
    assert offenders == []


def test_every_table_outside_the_platform_leads_its_keys_with_tenant_id():
    for table in db.metadata.sorted_tables:
        if table.name in PLATFORM_TABLES:
            continue
        assert "tenant_id" in table.c, table.name
        assert not table.c.tenant_id.nullable, table.name
        for constraint in table.constraints:
            columns = [c.name for c in getattr(constraint, "columns", [])]
            is_key = constraint.__class__.__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")
            if (
                is_key
                and columns not in ([], ["id"])
                and (table.name, tuple(columns)) not in GLOBAL_KEYS
            ):
                assert columns[0] == "tenant_id", (table.name, columns)
        for index in table.indexes:
            if (table.name, index.name) in GLOBAL_INDEXES:
                continue
            assert [c.name for c in index.columns][0] == "tenant_id", (table.name, index.name)
        for fk in table.foreign_key_constraints:
            referred = fk.referred_table.name
            if referred not in PLATFORM_TABLES:
                assert [c.name for c in fk.columns][0] == "tenant_id", (table.name, referred)


def test_only_the_platform_session_is_scoped(app):
    """Another SQLAlchemy session in the same process (another app, a script) keeps its own
    rules; the platform's own session fails closed."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from storefront.catalog.models import Product
    from storefront.tenancy.context import TenantNotBound

    with app.app_context():
        with Session(db.engine) as other:
            assert other.execute(text("SELECT COUNT(*) FROM products")).scalar_one() == 0
            assert other.scalars(select(Product)).all() == []
        with pytest.raises(TenantNotBound):
            db.session.scalars(select(Product)).all()

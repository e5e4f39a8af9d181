"""Signed-in sessions the server can end.

Flask's session is a signed cookie: on its own, a copy taken while signed in would keep
working after logout. So signing in records a random session id (its hash) in
``user_sessions`` and puts the id in the cookie; every request with a signed-in session
checks the row is still there, and logging out deletes it and empties the session (the
cart token and guest orders of that browser go with it).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import Flask, session
from flask_login import user_loaded_from_cookie, user_logged_in, user_logged_out
from sqlalchemy import delete, select, update

from ..extensions import db
from ..tenancy.context import current_tenant_or_none
from ..tenancy.models import utcnow
from .models import User, UserSession

SID_KEY = "_sid"
USER_KEY = "_user_id"
SEEN_KEY = "_seen"  # the day this session last moved its account's ``last_seen_at``


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(user: Any) -> None:
    """Record a new signed-in session for ``user`` (commits: the login stands on it)."""
    sid = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, sid_hash=_hash(sid)))
    _seen(int(user.id))
    db.session.commit()
    session[SID_KEY] = sid


def end_session() -> None:
    """Forget this browser's signed-in session for good, and everything it carried."""
    sid = session.get(SID_KEY)
    if sid and current_tenant_or_none() is not None:
        db.session.execute(
            delete(UserSession)
            .where(UserSession.sid_hash == _hash(sid))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    session.clear()


def end_all_sessions(user_id: int) -> None:
    """Sign a user out everywhere (deactivation, password change); the caller commits."""
    db.session.execute(
        delete(UserSession)
        .where(UserSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


def check_session() -> None:
    """``before_request``: a signed-in session whose row is gone is signed out."""
    if USER_KEY not in session or current_tenant_or_none() is None:
        return
    sid = session.get(SID_KEY)
    found = sid and db.session.scalar(
        select(UserSession.user_id).where(UserSession.sid_hash == _hash(sid))
    )
    if not found:
        session.clear()
        return
    if session.get(SEEN_KEY) != _today():  # once a day: the account is in use
        _seen(int(found))
        db.session.commit()


def _today() -> str:
    return utcnow().date().isoformat()


def _seen(user_id: int) -> None:
    """The account is in use today (the shop's retention counts from here)."""
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(last_seen_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session[SEEN_KEY] = _today()


def init_sessions(app: Flask) -> None:
    user_logged_in.connect(lambda sender, user, **kw: start_session(user), app, weak=False)
    user_loaded_from_cookie.connect(lambda sender, user, **kw: start_session(user), app, weak=False)
    user_logged_out.connect(lambda sender, user, **kw: end_session(), app, weak=False)
    # Right after the shop is bound (and before anything loads the user).
    app.before_request_funcs.setdefault(None, []).insert(1, check_session)

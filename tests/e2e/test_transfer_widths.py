"""An import's problems on a 360 px phone: a failure's message and the refused rows wrap
inside the screen, whatever their length (a file's header naming a thousand unknown
columns, a refused cell quoted whole), in each of the demo shops' languages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_phone_widths import PHONE, WIDEST, _log_in
from tests.e2e.test_shopping import shop_url

pytestmark = pytest.mark.e2e


def _failed_import(live_server: Any, slug: str) -> int:
    from storefront.extensions import db
    from storefront.tenancy.context import tenant_context
    from storefront.tenancy.registry import context_for
    from storefront.transfers.models import FAILED, Transfer

    columns = ", ".join(f"column{i}" for i in range(1000))
    with live_server.app.app_context(), tenant_context(context_for(slug)):
        transfer = Transfer(
            kind="import",
            subject="catalog",
            status=FAILED,
            busy=None,
            message=f"line 1: unknown column(s): {columns}\nline 2: price: “{'9' * 400}”",
            filename="catalog.csv",
            report={
                "created": 0, "updated": 0, "rows": 1, "through": 2, "refused_count": 1,
                "refused": [f"line 2: price: “{'x' * 400}” is not an amount"], "warnings": [],
            },
        )  # fmt: skip
        db.session.add(transfer)
        db.session.commit()
        return transfer.id


@pytest.mark.parametrize(("slug", "languages"), [("acme", ("en", "fr")), ("globex", ("de", "en"))])
def test_an_imports_problems_fit_a_360px_phone(browser, live_server, slug, languages):
    transfer_id = _failed_import(live_server, slug)
    base = shop_url(slug, live_server.port, "").rstrip("/")
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    _log_in(page, base, f"owner@{slug}.example.com", "demo-password")
    wide = []
    for language in languages:
        page.goto(f"{base}/{language}/admin/transfers/{transfer_id}")
        assert page.locator("pre.problems").count() == 1
        found = page.evaluate(WIDEST, PHONE["width"])
        if found:
            wide.append(f"[{language}] {found}")
    context.close()
    assert not wide, "\n".join(wide)

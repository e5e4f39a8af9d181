"""A shop's mail templates follow the page rules: its overrides are used, sandboxed and
budgeted; a hostile or broken one never stops the mail, which then goes out with the
platform's template (in the shop's branding) and shows nothing the sandbox refused.
Account mails (Flask-Security) are drawn the same way, with subjects that name the shop.
"""

from __future__ import annotations

import pytest

from tests.fixtures.factories import csrf_from, host, register
from tests.test_sandbox_escape import override

ACME = 'name = "Acme Supplies"\n[branding]\nprimary_color = "#9a3412"\n'


@pytest.fixture
def shop(make_shop, make_user, product):
    acme = make_shop("acme", settings=ACME)
    make_user(acme, "ada@example.com")
    product(acme, "anvil", price=1999)
    return acme


def reset_mail(app, shop, outbox, email="ada@example.com"):
    client = app.test_client()
    page = client.get("/reset", headers=host(shop))
    data = {"email": email, "csrf_token": csrf_from(page.text)}
    assert client.post("/reset", data=data, headers=host(shop)).status_code in (200, 302)
    (mail,) = [m for m in outbox if m.to == [email]]
    return mail


def html_of(mail) -> str:
    (html,) = [body for body, kind in mail.alternatives if kind == "text/html"]
    return html


def test_account_mails_are_html_and_text_with_a_subject_naming_the_shop(app, shop, outbox):
    mail = reset_mail(app, shop, outbox)
    assert mail.subject == "Reset your password at Acme Supplies"
    html = html_of(mail)
    assert "/reset/" in mail.body and 'href="http://acme.test/reset/' in html
    assert "background-color:#9a3412" in html and "Acme Supplies" in html


def test_registering_mails_a_welcome_that_says_where(app, shop, outbox):
    register(app.test_client(), shop, "new@example.com")
    (mail,) = [m for m in outbox if m.to == ["new@example.com"]]
    assert mail.subject == "Your new account at Acme Supplies"
    assert "Welcome to Acme Supplies" in html_of(mail)


def test_a_subject_the_shop_set_in_its_config_is_used_as_written(app, make_shop, make_user):
    shop = make_shop(
        "own",
        settings='name = "Own"\n[config]\nSECURITY_EMAIL_SUBJECT_PASSWORD_RESET = "Hop hop"\n',
    )
    make_user(shop, "ada@example.com")
    outbox = app.extensions["mailman"].outbox = []
    assert reset_mail(app, shop, outbox).subject == "Hop hop"


def test_the_shops_override_of_the_mail_layout_and_of_one_mail_is_used(app, shop, outbox):
    override(
        app,
        "acme",
        "mail/base.html",
        "<html><body>ACME LAYOUT {{ shop.name }} {% block content %}{% endblock %}</body></html>",
    )
    override(app, "acme", "security/email/reset_instructions.txt", "OWN TEXT {{ reset_link }}")
    mail = reset_mail(app, shop, outbox)
    html = html_of(mail)
    assert "ACME LAYOUT Acme Supplies" in html and "/reset/" in html  # the platform's content
    assert mail.body.startswith("OWN TEXT http://acme.test/reset/")


@pytest.mark.parametrize(
    "hostile",
    [
        # Escaping the sandbox: refused (SecurityError).
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{% block content %}{% endblock %}",
        "{{ shop.__class__.__init__.__globals__ }}{% block content %}{% endblock %}",
        # A loop or a string far over the page budgets: stopped.
        "{% for i in range(100000000) %}x{% endfor %}{% block content %}{% endblock %}",
        "{{ 'x' * 100000000 }}{% block content %}{% endblock %}",
        # Broken.
        "{% block content %}{% endfor %}",
    ],
    ids=["mro", "globals", "range", "string-bomb", "syntax"],
)
def test_a_hostile_layout_override_is_refused_and_the_mail_goes_out_as_the_platforms(
    app, shop, outbox, hostile, caplog
):
    override(app, "acme", "mail/base.html", "HOSTILE " + hostile)
    mail = reset_mail(app, shop, outbox)
    html = html_of(mail)
    assert "HOSTILE" not in html and "subclasses" not in html and "xxxxxxxx" not in html
    assert "background-color:#9a3412" in html and "/reset/" in html  # the platform's, branded
    assert "mail template mail/base.html" in caplog.text or "reset_instructions" in caplog.text


def test_an_override_reading_the_config_or_the_request_gets_nothing(app, shop, outbox):
    probes = " ".join(
        f"[{{{{ {name} }}}}]" for name in ("config", "request", "session", "g", "security")
    )
    override(
        app,
        "acme",
        "mail/base.html",
        f"PROBES {probes} {{{{ config.SECRET_KEY }}}}{{% block content %}}{{% endblock %}}",
    )
    html = html_of(reset_mail(app, shop, outbox))
    assert app.config["SECRET_KEY"] not in html
    assert "PROBES [] [] [] [] []" in html or "PROBES" not in html  # empty, or refused


def test_an_order_mail_with_a_hostile_override_still_reaches_the_shopper(app, shop, outbox):
    from tests.test_mail_orders import place

    override(
        app,
        "acme",
        "orders/mail/confirmation.html",
        "{% for i in range(10**9) %}{% for j in range(10**9) %}x{% endfor %}{% endfor %}",
    )
    place(app, shop, None)
    (mail,) = [m for m in outbox if m.to == ["ada@example.com"]]
    assert "ACME-1001" in mail.subject and "ACME-1001" in html_of(mail)


def test_one_shops_override_never_reaches_another_shops_mails(
    app, shop, make_shop, make_user, outbox
):
    other = make_shop("globex", settings='name = "Globex"\n')
    make_user(other, "ada@example.com")
    override(app, "acme", "mail/base.html", "ACME ONLY {% block content %}{% endblock %}")
    mail = reset_mail(app, other, outbox)
    assert "ACME ONLY" not in html_of(mail) and "Globex" in mail.subject

"""Shop templates are untrusted code: known template-injection payloads get nothing."""

from __future__ import annotations

import pytest

from tests.fixtures.factories import host, login, tenant_folder

PAYLOADS = [
    "{{ config }}",
    "{{ config.SECRET_KEY }}",
    "{{ config.items() }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in ''.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ ''|attr('__class__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ url_for.__globals__ }}",
    "{{ url_for.__globals__['current_app'].config }}",
    "{{ url_for.__closure__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ csrf_token.__globals__ }}",
    "{{ static_url.__wrapped__ }}",
    "{{ request.application.__globals__ }}",
    "{{ request.environ }}",
    "{{ session }}",
    "{{ g }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ security.app.config.SECRET_KEY }}",
    "{{ current_user.password }}",
    "{{ shop.__class__.__mro__ }}",
    "{{ shop.__dataclass_fields__ }}",
    "{{ user.__class__ }}",
    "{{ '{0.__class__}'.format(shop) }}",
    "{{ shop.name.format.__self__ }}",
    "{{ range.__self__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{% set x = namespace() %}{{ x.__class__ }}",
    "{{ macros.__dict__ }}",
]

LEAKS = [
    "test-secret-key",
    "SECRET_KEY",
    "sqlite:",
    "mysql",
    "uid=",
    "<class",
    "environ",
    "password-salt",
    "Traceback",
    "__globals__",
    "function",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payload_in_a_shop_override_leaks_nothing(app, make_shop, make_user, payload):
    shop = make_shop("acme")
    make_user(shop, "x@example.com")
    path = tenant_folder(app, "acme") / "templates" / "index.html"
    path.write_text(
        '{% extends "@theme/index.html" %}{% block featured %}<p id="payload">'
        + payload
        + "</p>{% endblock %}"
    )
    client = app.test_client()
    login(client, shop, "x@example.com")  # a logged-in page: the richest context there is
    response = client.get("/", headers=host(shop))
    assert response.status_code in (200, 403, 503)
    body = response.text
    rendered = (
        body.split('<p id="payload">')[1].split("</p>")[0] if 'id="payload"' in body else body
    )
    for leak in LEAKS:
        assert leak not in rendered, (payload, leak, rendered[:300])
    if response.status_code != 200:
        assert "template" in body  # a clear answer, not a blank page


@pytest.mark.parametrize("payload", ["{{ config.SECRET_KEY }}", "{{ config }}", "{{ markup }}"])
def test_a_section_override_gets_nothing_after_trusted_pages_filled_the_memos(
    app, make_shop, payload
):
    """Templates and their globals are remembered per environment and shop chain: a shop's
    partial, included by the base layout, must still render sandboxed after another
    shop's trusted pages compiled the same layout, and that shop must not get the partial."""
    acme, globex = make_shop("acme"), make_shop("globex")
    client = app.test_client()
    for _ in range(2):  # the trusted layout, sections and globals snapshot, remembered
        assert client.get("/", headers=host(globex)).status_code == 200
    path = tenant_folder(app, "acme") / "templates" / "layout_sections" / "footer.html"
    path.parent.mkdir(parents=True)
    path.write_text(f'<footer id="own">{payload}</footer>')
    response = client.get("/", headers=host(acme))
    assert response.status_code in (200, 403, 503)  # rendered as nothing, refused, or said
    for leak in LEAKS:
        assert leak not in response.text, (payload, leak)
    if response.status_code == 200:
        assert '<footer id="own">' in response.text
    assert '<footer id="own">' not in client.get("/", headers=host(globex)).text


def test_a_form_in_a_shop_override_shows_its_fields_but_not_its_secrets(app, make_shop):
    shop = make_shop("acme")
    path = tenant_folder(app, "acme") / "templates" / "security" / "login_user.html"
    path.parent.mkdir(parents=True)
    path.write_text(
        "<i>{{ login_user_form.email.label.text }}</i>{{ login_user_form.hidden_tag() }}"
    )
    response = app.test_client().get("/login", headers=host(shop))
    assert "<i>Email address</i>" in response.text  # the platform's wording
    assert 'name="csrf_token"' in response.text
    for probe in (
        "login_user_form.meta.csrf_secret",
        "login_user_form.email.meta",
        "login_user_form.user",
        "login_user_form._fields",
    ):
        path.write_text(f"<b>{{{{ {probe} }}}}</b>")
        app.jinja_env.cache.clear()
        response = app.test_client().get("/login", headers=host(shop))
        # Either refused outright, or rendered as nothing: never the value.
        assert response.status_code == 403 or "<b></b>" in response.text, probe
        assert "test-secret-key" not in response.text


def test_shop_templates_get_the_curated_context(app, make_shop, make_user):
    shop = make_shop("acme", name="Acme Supplies")
    make_user(shop, "x@example.com")
    path = tenant_folder(app, "acme") / "templates" / "index.html"
    path.write_text(
        "[{{ shop.name }}|{{ user.email }}|{{ user.is_authenticated }}|"
        "{{ config is defined }}|{{ request is defined }}|{{ session is defined }}|"
        "{{ security is defined }}|{{ current_user is defined }}|{{ g is defined }}]"
    )
    client = app.test_client()
    login(client, shop, "x@example.com")
    body = client.get("/", headers=host(shop)).text
    assert "[Acme Supplies|x@example.com|True|False|False|False|False|False|False]" in body


def test_a_syntax_error_in_a_shop_template_is_a_clear_answer(app, make_shop):
    shop = make_shop("acme")
    (tenant_folder(app, "acme") / "templates" / "index.html").write_text("{% if %}")
    response = app.test_client().get("/", headers=host(shop))
    assert response.status_code == 503
    assert "index.html, line 1" in response.text
    assert "Traceback" not in response.text

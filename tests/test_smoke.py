from tests.fixtures.factories import host


def test_two_shops_one_app(client, make_shop):
    acme = make_shop("acme", name="Acme Supplies")
    globex = make_shop("globex", name="Globex Outfitters", theme="minimal")
    a = client.get("/", headers=host(acme))
    b = client.get("/", headers=host(globex))
    assert a.status_code == b.status_code == 200
    assert "Acme Supplies" in a.text and "Globex" not in a.text
    assert "Globex Outfitters" in b.text and "Acme" not in b.text

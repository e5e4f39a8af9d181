"""Caddy (Debian's package) in front of the app with on-demand TLS from Caddy's own CA:
a verified shop domain is served over HTTPS with a certificate for that name; a pending
or unknown name fails the TLS handshake, because the app's ask endpoint says no."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from werkzeug.serving import make_server

from storefront import create_app
from storefront.extensions import db
from storefront.tenancy import services

pytestmark = pytest.mark.e2e
CADDY = shutil.which("caddy") or "/usr/bin/caddy"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def platform(app_config, tmp_path):
    if not Path(CADDY).exists():
        pytest.fail(f"{CADDY} not found: install Debian's caddy (apt-get install -y caddy)")
    app_port, https_port, http_port = _port(), _port(), _port()
    app = create_app({**app_config, "TRUSTED_PROXY_COUNT": 1, "PREFERRED_URL_SCHEME": "https"})
    with app.app_context():
        services.create_shop(services.NewShop(slug="acme", name="Acme", domains=("acme.test",)))
        services.add_domain("acme", "pending.acme.example")
        services.add_domain("acme", "shop.acme.example", trust=True)
        db.session.remove()
    server = make_server("127.0.0.1", app_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(
        "{\n"
        "\tadmin off\n"
        "\tlocal_certs\n"
        "\tskip_install_trust\n"
        f"\thttp_port {http_port}\n"
        f"\thttps_port {https_port}\n"
        f"\tstorage file_system {tmp_path / 'caddy-data'}\n"
        f"\ton_demand_tls {{\n\t\task http://127.0.0.1:{app_port}/_tls/ask\n\t}}\n"
        "}\n"
        "https:// {\n"
        "\ttls {\n\t\ton_demand\n\t}\n"
        f"\treverse_proxy 127.0.0.1:{app_port}\n"
        "}\n"
    )
    log = (tmp_path / "caddy.log").open("wb")
    caddy = subprocess.Popen(
        [CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        caddy.kill()
        log.close()
        pytest.fail("caddy did not start: " + (tmp_path / "caddy.log").read_text()[-2000:])
    yield https_port, http_port
    caddy.terminate()
    caddy.wait(10)
    log.close()
    server.shutdown()


def _handshake(port: int, name: str) -> tuple[x509.Certificate, bytes]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # Caddy's internal CA, not a public one
    with (
        socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return x509.load_der_x509_certificate(der), answer


def test_a_verified_domain_gets_its_certificate_and_the_shop(platform):
    https_port, http_port = platform
    cert, answer = _handshake(https_port, "shop.acme.example")
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "shop.acme.example" in names.get_values_for_type(x509.DNSName)
    status = answer.split(b"\r\n", 1)[0]
    assert b" 301 " in status or b" 200 " in status, status  # an alias of acme.test
    assert b"strict-transport-security" in answer.lower()
    # Plain HTTP is redirected to HTTPS by Caddy before it reaches the shop.
    with socket.create_connection(("127.0.0.1", http_port), timeout=10) as plain:
        plain.sendall(
            b"GET /products HTTP/1.1\r\nHost: shop.acme.example\r\nConnection: close\r\n\r\n"
        )
        head = plain.recv(4096).split(b"\r\n")
    assert b" 308 " in head[0] or b" 301 " in head[0], head[0]
    assert any(h.lower() == b"location: https://shop.acme.example/products" for h in head), head


@pytest.mark.parametrize("name", ["pending.acme.example", "unknown.example"])
def test_a_pending_or_unknown_name_gets_no_certificate(platform, name):
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _handshake(platform[0], name)

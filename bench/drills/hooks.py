"""A loopback webhook receiver for the drills: it checks each delivery's signature the way
a shop's receiver would, keeps what arrived, and answers 200."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..net import LoopbackSink


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        sink: WebhookSink = self.server.sink  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sink.received(self.path, self.headers.get("Storefront-Signature", ""), body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WebhookSink(LoopbackSink):
    server_class = ThreadingHTTPServer
    handler = _Handler

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}  # path -> the endpoint's signing secret
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0

    def url(self, shop: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{shop}"

    def received(self, path: str, signature: str, body: bytes) -> None:
        from storefront.webhooks.services import verify

        secret = self.secrets.get(path, "")
        with self.lock:
            if not verify(secret, signature, body):
                self.bad_signatures += 1
                return
            self.events.append(json.loads(body))

    def orders(self) -> dict[str, Counter[str]]:
        """Per order number, how often each ``order.created`` event id arrived."""
        found: dict[str, Counter[str]] = {}
        with self.lock:
            for event in self.events:
                if event["type"] == "order.created":
                    found.setdefault(event["data"]["number"], Counter())[event["id"]] += 1
        return found

"""A loopback SMTP sink for the drills: it speaks just enough SMTP to take mail, keeps
every message, and can be stopped (connections refused) and started again."""

from __future__ import annotations

import email
import socketserver
import threading
from email.message import Message

from ..net import LoopbackSink


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        self.wfile.write(b"220 drill-sink ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 drill-sink\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                sink.received(email.message_from_bytes(bytes(data)))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


class SmtpSink(LoopbackSink):
    server_class = socketserver.ThreadingTCPServer
    handler = _Handler

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def received(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

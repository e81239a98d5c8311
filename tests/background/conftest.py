"""A real SMTP server (aiosmtpd) for delivery tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """Collects accepted messages. ``delay`` slows the answer to DATA; a message whose
    ``generation`` changed while it waited is not accepted (its client is gone)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.delay = 0.0
        self.generation = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        generation = self.generation
        if self.delay:
            await asyncio.sleep(self.delay)
        if generation != self.generation:
            return "451 Requested action aborted"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    try:
        yield inbox
    finally:
        controller.stop()

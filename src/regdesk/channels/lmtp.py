"""An LMTP server an MTA delivers to (Postfix: ``mailbox_transport = lmtp:inet:host:port``).

Each recipient gets its own reply, as LMTP requires: ``250`` once the message is stored and
committed (processing follows in the same step; a message that fails is quarantined, still
``250``: it is ours now), ``451`` when it could not be stored, so the MTA keeps it and retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

logger = logging.getLogger(__name__)


class IntakeHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        replies = []
        for recipient in envelope.rcpt_tos:
            try:
                row = await asyncio.to_thread(_ingest, raw, recipient)
            except Exception:
                logger.exception("LMTP: could not store a message for %s", recipient)
                replies.append(f"451 4.3.0 <{recipient}> not stored, try again later")
                continue
            replies.append(f"250 2.0.0 <{recipient}> {row}")
        return "\r\n".join(replies)


def _ingest(raw: bytes, recipient: str) -> str:
    from django.db import close_old_connections

    from regdesk.channels.email_intake import email_ingest

    close_old_connections()
    try:
        row = email_ingest(raw=raw, source="lmtp", envelope_to=recipient)
        return row.result[:200] or row.state
    finally:
        close_old_connections()


class LMTPController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler, enable_SMTPUTF8=True, decode_data=False)


def lmtp_controller(*, host: str, port: int) -> LMTPController:
    return LMTPController(IntakeHandler(), hostname=host, port=port, data_size_limit=50_000_000)

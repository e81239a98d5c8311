"""Notifications to a requester's Telegram chat: made with the email ones, sent by the bot.

``telegram_notifications`` is called by ``regdesk.notifications.services.notify`` for every
event; ``telegram_send`` by ``notification_send`` for a notification whose channel is
``telegram`` (it raises on failure, so the send is retried like an email's).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from regdesk.core.regulation import ChannelKind, NotificationEvent
from regdesk.notifications.models import Notification
from regdesk.notifications.services import CONVERSATION_EVENTS, Recipient, render
from regdesk.telegram.botapi import message_send
from regdesk.telegram.models import TelegramBot
from regdesk.tickets.models import Ticket

CHANNEL = "telegram"


class TelegramDeliveryError(Exception):
    """The notification cannot be sent by Telegram (no bot for the desk, no chat)."""


def _bot_for(desk_id: int) -> TelegramBot | None:
    return TelegramBot.objects.filter(desk_id=desk_id, enabled=True).order_by("pk").first()


def telegram_notifications(
    *, ticket: Ticket, event: NotificationEvent | str, occurrence: str, data: dict[str, Any]
) -> list[Notification]:
    """The requester's Telegram notification for ``event``, when their account is linked and
    the regulation sends this event by Telegram — or, for support's answer and requests for
    information, whenever the request came by Telegram. Created once per unique key; the
    caller enqueues the delivery as it does for email."""
    event = NotificationEvent(event)
    person = ticket.requester
    if person.telegram_user_id is None or _bot_for(ticket.desk_id) is None:
        return []
    regulation = ticket.regulation_version.regulation
    telegram_ids = {CHANNEL} | {c.id for c in regulation.channels if c.kind is ChannelKind.TELEGRAM}
    by_telegram = ticket.channel in telegram_ids
    if event is NotificationEvent.REGISTERED and by_telegram:
        return []  # the bot answered with the number in the conversation that opened it
    wanted = any(
        rule.event == event and "requester" in rule.to and telegram_ids & set(rule.channels)
        for rule in regulation.notifications
    )
    if not wanted and not (by_telegram and event in CONVERSATION_EVENTS):
        return []
    language = person.language or ticket.language or regulation.languages[0]
    recipient = Recipient(
        f"person-{person.pk}",
        str(person.telegram_user_id),
        language,
        person=person,
        user=person.user,
    )
    subject, body = render(ticket, event, recipient, data)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=f"{ticket.pk}:{event.value}:{occurrence}:{recipient.key}:{CHANNEL}",
                ticket=ticket,
                event=event.value,
                channel=CHANNEL,
                recipient_person=person,
                recipient_user=person.user,
                address=recipient.address,
                language=language,
                subject=subject[:300],
                body=body,
            )
    except IntegrityError:
        return []  # made already (the same occurrence, twice)
    return [notification]


def telegram_send(*, notification: Notification) -> None:
    """Send one notification to its chat through the desk's bot; raises on failure."""
    ticket = notification.ticket
    bot = _bot_for(ticket.desk_id) if ticket is not None else None
    if bot is None:
        raise TelegramDeliveryError("no enabled Telegram bot for the ticket's desk")
    try:
        chat_id = int(notification.address)
    except ValueError as exc:
        raise TelegramDeliveryError(f"not a Telegram chat: {notification.address!r}") from exc
    # The subject carries the number: a reply to this message goes to the request.
    message_send(bot, chat_id=chat_id, text=f"{notification.subject}\n\n{notification.body}")

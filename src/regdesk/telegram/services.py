"""The Telegram channel's writes: linking accounts, taking updates in, and answering them.

Every update is stored raw first (``inbound_receive``, key ``<bot id>:<update id>``: the same
update twice is one row) and then handled once by ``telegram_inbound_handle`` inside the intake's
transaction: a person who is not linked is asked to link (a one-time code from the portal, or
the regulation's identification questions), a linked person opens a request by a guided
conversation (``regdesk.telegram.conversation``) or writes to an open request. The bot's answers
to one update go out together at the end, so an update that fails says nothing and is
quarantined whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regdesk.channels.models import Inbound
from regdesk.channels.parsers.telegram import TelegramParseError, TelegramUpdate, read_update
from regdesk.channels.services import (
    HandlerResult,
    QuarantineError,
    inbound_process,
    inbound_receive,
)
from regdesk.core.regulation import Regulation
from regdesk.desks.models import Desk
from regdesk.desks.selectors import desks_for_person, regulation_current
from regdesk.directory.models import Person
from regdesk.telegram.botapi import Outbox, outbox_send, updates_fetch, webhook_set
from regdesk.telegram.conversation import (
    REQUEST_STATES,
    Turn,
    conversation_save,
    files_fetch,
    files_refused_say,
    request_begin,
    request_input,
    telegram_channel_id,
)
from regdesk.telegram.models import TelegramBot, TelegramConversation, TelegramLinkCode
from regdesk.tickets.models import OPEN_STATUSES, Ticket
from regdesk.tickets.selectors import customer_tickets_q
from regdesk.tickets.services import TicketError, ticket_customer_reply

State = TelegramConversation.State
Outcome = Inbound.Outcome
CHANNEL = "telegram"
LINK_CODE_LIFETIME = timedelta(minutes=30)
# Identification by email and login is guessable: a chat gets this many tries per hour.
MAX_FAILED_IDENTIFICATIONS = 5
IDENTIFICATION_COOLDOWN = timedelta(hours=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

logger = logging.getLogger(__name__)


class TelegramLinkError(Exception):
    """A link code that is unknown, used or expired."""


# --------------------------------------------------------------------------- linking


def telegram_link_code_issue(
    *, person: Person, desk: Desk, now: datetime | None = None
) -> TelegramLinkCode:
    """A one-time code the person sends to the desk's bot (``/start <code>``) to link."""
    moment = now or timezone.now()
    return TelegramLinkCode.objects.create(
        person=person,
        desk=desk,
        code=secrets.token_urlsafe(16),  # Telegram's start parameter: A-Z a-z 0-9 _ -, ≤ 64
        expires_at=moment + LINK_CODE_LIFETIME,
    )


def telegram_person_link(*, person: Person, telegram_user_id: int, telegram_username: str) -> None:
    """Link a Telegram account to the person (an account is linked to one person at a time)."""
    Person.objects.filter(telegram_user_id=telegram_user_id).exclude(pk=person.pk).update(
        telegram_user_id=None, telegram_username=""
    )
    person.telegram_user_id = telegram_user_id
    person.telegram_username = telegram_username[:64]
    person.save(update_fields=["telegram_user_id", "telegram_username"])


def telegram_link_code_consume(
    *,
    code: str,
    desk: Desk,
    telegram_user_id: int,
    telegram_username: str = "",
    now: datetime | None = None,
) -> Person:
    """Link the sender to the person the code was issued to; a code works once."""
    moment = now or timezone.now()
    row = (
        TelegramLinkCode.objects.select_for_update()
        .select_related("person")
        .filter(code=code.strip(), desk=desk)
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= moment:
        raise TelegramLinkError(
            _("This link code is not valid or has expired. Get a new one on the portal.")
        )
    row.used_at = moment
    row.save(update_fields=["used_at"])
    telegram_person_link(
        person=row.person, telegram_user_id=telegram_user_id, telegram_username=telegram_username
    )
    return row.person


def _portal_link_page() -> str:
    return settings.BASE_URL + reverse("telegram:link")


def _identification_blocked(conversation: TelegramConversation, now: datetime) -> bool:
    if conversation.failed_identifications < MAX_FAILED_IDENTIFICATIONS:
        return False
    last = conversation.last_failed_at
    if last is not None and now - last < IDENTIFICATION_COOLDOWN:
        return True
    conversation.failed_identifications = 0
    conversation.save(update_fields=["failed_identifications", "updated_at"])
    return False


def _identify_begin(turn: Turn) -> HandlerResult:
    if _identification_blocked(turn.conversation, timezone.now()):
        turn.outbox.say(
            _("Too many attempts. Get a link code on the portal: %(url)s")
            % {"url": _portal_link_page()}
        )
        return turn.result("refused: too many identification attempts", Outcome.REFUSED)
    conversation_save(turn.conversation, State.IDENTIFY_EMAIL, {})
    turn.outbox.say(
        _(
            "Your Telegram account is not linked to a customer of %(desk)s yet. Open %(url)s "
            "for a one-time link, or answer two questions.\n\n"
            "Send the email address registered with support."
        )
        % {"desk": turn.desk.name, "url": _portal_link_page()}
    )
    return turn.result("asked: email")


def _identify_step(turn: Turn) -> HandlerResult:
    conversation = turn.conversation
    answer = turn.text
    if conversation.state == State.IDENTIFY_EMAIL:
        if not _EMAIL.match(answer):
            turn.outbox.say(_("Send the email address registered with support."))
            return turn.result("asked: email")
        conversation_save(conversation, State.IDENTIFY_LOGIN, {"email": answer.lower()})
        turn.outbox.say(_("Now send your login in the system."))
        return turn.result("asked: login")
    email = str(conversation.data.get("email", ""))
    update = turn.update
    candidates = (
        Person.objects.filter(emails__address=email, login__iexact=answer)
        .exclude(login="")
        .distinct()
    )
    found = [p for p in candidates if desks_for_person(person=p).filter(pk=turn.desk.pk).exists()]
    person = found[0] if len(found) == 1 else None
    if person is not None and person.telegram_user_id not in (None, update.user_id):
        person = None  # linked to another account: only the portal's code may move it
    if person is None:
        conversation.failed_identifications += 1
        conversation.last_failed_at = timezone.now()
        conversation.state = State.IDLE
        conversation.data = {}
        conversation.save(
            update_fields=[
                "failed_identifications",
                "last_failed_at",
                "state",
                "data",
                "updated_at",
            ]
        )
        turn.outbox.say(
            _(
                "We found no customer with this email address and login. Send /start to try "
                "again, or get a link code on the portal: %(url)s"
            )
            % {"url": _portal_link_page()}
        )
        return turn.result("refused: not identified", Outcome.REFUSED)
    assert update.user_id is not None
    telegram_person_link(
        person=person, telegram_user_id=update.user_id, telegram_username=update.username
    )
    conversation.failed_identifications = 0
    conversation.save(update_fields=["failed_identifications", "updated_at"])
    return _linked(turn, person, how="questions")


def _linked(turn: Turn, person: Person, *, how: str) -> HandlerResult:
    turn.person = person
    turn.conversation.person = person
    turn.conversation.save(update_fields=["person", "updated_at"])
    conversation_save(turn.conversation, State.IDLE, {})
    with translation.override(_language(person, turn.update, turn.regulation)):
        turn.outbox.say(
            _("Linked: you are %(name)s. Send /new to open a request.") % {"name": person.full_name}
        )
    return turn.result(f"linked by {how}: person {person.pk}")


# --------------------------------------------------------------------------- intake


def _update_key(bot: TelegramBot, raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if isinstance(update_id, int) and not isinstance(update_id, bool):
        return f"{bot.pk}:{update_id}"
    # Not an update at all: kept (and quarantined) under its content's hash.
    return f"{bot.pk}:sha256-{hashlib.sha256(raw).hexdigest()}"


def telegram_update_receive(*, bot: TelegramBot, raw: bytes) -> tuple[Inbound, bool]:
    """Store one update as received, once per bot and update id; (row, created)."""
    return inbound_receive(
        channel=CHANNEL,
        key=_update_key(bot, raw),
        raw=raw,
        source=f"telegram:{bot.username}",
        desk=bot.desk,
    )


def telegram_poll_once(*, bot: TelegramBot, timeout: int = 0) -> list[Inbound]:
    """One getUpdates round: each update is stored, the offset moves past it, then it is
    processed. A crash after storing loses nothing: the row is processed on the next run."""
    rows = []
    for update in updates_fetch(bot, offset=bot.update_offset, timeout=timeout):
        row, _created = telegram_update_receive(
            bot=bot, raw=json.dumps(update, ensure_ascii=False).encode()
        )
        update_id = update.get("update_id")
        if isinstance(update_id, int) and update_id >= bot.update_offset:
            bot.update_offset = update_id + 1
            bot.save(update_fields=["update_offset"])
        rows.append(inbound_process(inbound_id=row.pk))
    bot.last_polled_at = timezone.now()
    bot.save(update_fields=["last_polled_at"])
    return rows


def telegram_webhook_url(*, bot: TelegramBot) -> str:
    return settings.BASE_URL + reverse("telegram:webhook", args=[bot.pk])


def telegram_webhook_set(*, bot: TelegramBot, url: str = "") -> str:
    """Point Telegram at the desk's webhook (with the bot's secret); returns the URL."""
    url = url or telegram_webhook_url(bot=bot)
    webhook_set(bot, url=url)
    bot.mode = TelegramBot.Mode.WEBHOOK
    bot.save(update_fields=["mode"])
    return url


# --------------------------------------------------------------------------- handling


def _bot_of(inbound: Inbound) -> TelegramBot:
    bot_id = inbound.key.split(":", 1)[0]
    bot = (
        TelegramBot.objects.select_related("desk").filter(pk=bot_id).first()
        if bot_id.isdigit()
        else None
    )
    if bot is None:
        raise QuarantineError(f"no Telegram bot {bot_id!r}")
    return bot


def _language(person: Person | None, update: TelegramUpdate, regulation: Regulation) -> str:
    languages = regulation.languages
    for candidate in (person.language if person else "", update.language_code[:2]):
        if candidate and candidate in languages:
            return candidate
    return languages[0] if languages else "en"


def telegram_inbound_handle(inbound: Inbound) -> HandlerResult:
    """The intake's handler for the Telegram channel (registered in the app's ready())."""
    bot = _bot_of(inbound)
    try:
        data = json.loads(bytes(inbound.raw))
    except ValueError as exc:
        raise QuarantineError(f"not JSON: {exc}") from exc
    try:
        update = read_update(data)
    except TelegramParseError as exc:
        raise QuarantineError(f"unusable Telegram update: {exc}") from exc
    desk = bot.desk
    if update.message is None:
        return HandlerResult(Outcome.REFUSED, f"ignored: {update.kind}", desk=desk)
    if update.kind == "edited_message":
        # The request already has what was sent; an edit in the chat does not rewrite it.
        return HandlerResult(Outcome.REFUSED, "ignored: edited message", desk=desk)
    if not update.is_private or update.chat_id is None:
        return HandlerResult(Outcome.REFUSED, f"ignored: {update.chat_type} chat", desk=desk)
    regulation = regulation_current(desk=desk).regulation
    person = Person.objects.filter(telegram_user_id=update.user_id).first()
    conversation, _created = TelegramConversation.objects.select_for_update().get_or_create(
        bot=bot, chat_id=update.chat_id, defaults={"person": person}
    )
    if conversation.person_id != (person.pk if person else None):
        conversation.person = person  # linked, or unlinked, since the chat last wrote
        conversation.save(update_fields=["person", "updated_at"])
    outbox = Outbox(chat_id=update.chat_id)
    if update.callback_id:
        outbox.callback_answers.append((update.callback_id, ""))
        if update.message_id is not None:
            outbox.keyboards_to_clear.append(update.message_id)
    turn = Turn(
        bot=bot,
        update=update,
        conversation=conversation,
        person=person,
        regulation=regulation,
        lang=_language(person, update, regulation),
        outbox=outbox,
    )
    with translation.override(turn.lang):
        result = _dispatch(turn)
    # The bot speaks once what it says is stored: a failed send never undoes a registration
    # (nor names a number that was rolled back), and no network call holds the transaction.
    transaction.on_commit(lambda: _outbox_send_logged(bot, outbox))
    return result


def _outbox_send_logged(bot: TelegramBot, outbox: Outbox) -> None:
    try:
        outbox_send(bot, outbox)
    except Exception:  # the chat misses this answer; what it answered is stored
        logger.exception("bot %s: the answer to chat %s was not sent", bot.pk, outbox.chat_id)


def _help(turn: Turn) -> None:
    turn.outbox.say(
        _(
            "/new: open a request\n"
            "/reply REF text: write to a request (or just reply to my message about it)\n"
            "/cancel: stop what we are doing"
        )
    )


def _dispatch(turn: Turn) -> HandlerResult:
    command, conversation, person = turn.update.command, turn.conversation, turn.person
    if command == "/start":
        return _start(turn)
    if command == "/cancel":
        conversation_save(conversation, State.IDLE, {})
        turn.outbox.say(_("Cancelled. Send /new to open a request."))
        return turn.result("cancelled")
    if person is None:
        if conversation.state in (State.IDENTIFY_EMAIL, State.IDENTIFY_LOGIN) and not command:
            return _identify_step(turn)
        return _identify_begin(turn)
    if not desks_for_person(person=person).filter(pk=turn.desk.pk).exists():
        turn.outbox.say(_("Your account is not registered with %(desk)s.") % {"desk": turn.desk})
        return turn.result("refused: not a customer of this desk", Outcome.REFUSED)
    if command == "/new":
        return request_begin(turn)
    if command == "/reply":
        return _customer_reply(turn, explicit=True)
    in_request = conversation.state in REQUEST_STATES
    if command == "/help" or (command and not (command == "/skip" and in_request)):
        _help(turn)
        return turn.result("help")
    if in_request:
        return request_input(turn)
    if turn.update.callback_data:
        turn.outbox.say(_("This button is no longer active."))
        return turn.result("stale button")
    return _customer_reply(turn, explicit=False)


def _start(turn: Turn) -> HandlerResult:
    update = turn.update
    assert update.user_id is not None
    if update.argument:
        try:
            person = telegram_link_code_consume(
                code=update.argument,
                desk=turn.desk,
                telegram_user_id=update.user_id,
                telegram_username=update.username,
            )
        except TelegramLinkError as exc:
            turn.outbox.say(str(exc))
            return turn.result("refused: link code", Outcome.REFUSED)
        return _linked(turn, person, how="code")
    if turn.person is None:
        return _identify_begin(turn)
    conversation_save(turn.conversation, State.IDLE, {})
    turn.outbox.say(
        _("Hello, %(name)s! This is the support of %(desk)s.")
        % {"name": turn.person.full_name, "desk": turn.desk.name}
    )
    _help(turn)
    return turn.result("greeted")


# --------------------------------------------------------------------------- follow-ups


def _tickets_of(person: Person, desk: Desk) -> Q:
    return customer_tickets_q(person) & Q(desk=desk)


def _reference(desk: Desk, text: str) -> str:
    """The first ticket number of this desk in ``text`` (WAV-000123, or WAV-123)."""
    found = re.search(rf"\b{re.escape(desk.ticket_prefix)}-(\d+)\b", text, re.IGNORECASE)
    return f"{desk.ticket_prefix}-{int(found.group(1)):06d}" if found else ""


def _customer_reply(turn: Turn, *, explicit: bool) -> HandlerResult:
    """A message to an open request: the one named (/reply REF), the one whose message it
    answers, or the person's only open request."""
    assert turn.person is not None
    desk, person = turn.desk, turn.person
    mine = Ticket.objects.filter(_tickets_of(person, desk))
    text = turn.text
    if explicit:
        reference, _sep, text = turn.update.argument.partition(" ")
        ticket = mine.filter(reference=_reference(desk, reference)).first()
        if ticket is None:
            turn.outbox.say(
                _("Write /reply, the number of your request and your text, e.g. /reply %(ref)s …")
                % {"ref": f"{desk.ticket_prefix}-000123"}
            )
            return turn.result("refused: no such request", Outcome.REFUSED)
    else:
        reference = _reference(desk, turn.update.reply_to_text)
        ticket = mine.filter(reference=reference).first() if reference else None
        if ticket is None:
            open_tickets = list(
                mine.filter(status__in=OPEN_STATUSES).order_by("-created_at", "-pk")[:10]
            )
            if not open_tickets:
                turn.outbox.say(_("You have no open requests. Send /new to open one."))
                return turn.result("refused: no open request", Outcome.REFUSED)
            if len(open_tickets) > 1:
                listing = "\n".join(f"{t.reference}: {t.subject}" for t in open_tickets)
                turn.outbox.say(
                    _(
                        "Which request is this about? Reply to my message about it, or write "
                        "/reply and its number.\n%(list)s"
                    )
                    % {"list": listing}
                )
                return turn.result("refused: which request?", Outcome.REFUSED)
            ticket = open_tickets[0]
    accepted, problems = files_fetch(turn, turn.files)
    uploads = [upload for _remote, upload in accepted]
    files_refused_say(turn, problems)
    body = text.strip()
    if not body and uploads:
        body = _("Files: %(names)s") % {"names": ", ".join(u.name or "" for u in uploads)}
    if not body:
        if not problems:
            turn.outbox.say(_("Write a message."))
        return turn.result("refused: nothing to add", Outcome.REFUSED)
    try:
        ticket_customer_reply(
            ticket=ticket,
            person=person,
            body=body,
            channel=telegram_channel_id(bot=turn.bot, regulation=turn.regulation),
            attachments=uploads,
        )
    except TicketError as exc:
        turn.outbox.say(exc.message)
        return turn.result(f"refused: {exc.message}", Outcome.REFUSED)
    turn.outbox.say(_("Added to %(ref)s.") % {"ref": ticket.reference})
    return HandlerResult(
        outcome=Outcome.FOLLOW_UP, result=ticket.reference, ticket=ticket, desk=desk
    )


def telegram_webhook_receive(*, bot: TelegramBot, raw: bytes) -> Inbound:
    """Store and process one webhook delivery (a repeated delivery is the same row)."""
    row, _created = telegram_update_receive(bot=bot, raw=raw)
    return inbound_process(inbound_id=row.pk)

"""A request put together in a chat, one question at a time, as the regulation asks for it.

/new → the request type (buttons) → subject → description → each field of that type in the
regulation's order (shown only when its ``shown_when`` holds; required ones cannot be skipped,
optional ones take /skip; choices as buttons) → confirm → ``ticket_create``. Where the chat
stands is kept in ``TelegramConversation`` (state and data), so a restart between two messages
loses nothing. Photos and files sent on the way are checked against the attachment policy at
once and go with the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils.translation import gettext as _
from telegram.error import TelegramError

from regdesk.channels.models import Inbound
from regdesk.channels.parsers.message import RemoteFile
from regdesk.channels.parsers.telegram import TelegramUpdate
from regdesk.channels.services import HandlerResult
from regdesk.core.intake import check_fields
from regdesk.core.regulation import (
    ChannelKind,
    ChannelRole,
    FieldKind,
    FieldSpec,
    Regulation,
    local_text,
)
from regdesk.desks.models import Desk
from regdesk.directory.models import Person
from regdesk.telegram.botapi import Buttons, Outbox, file_download
from regdesk.telegram.models import TelegramBot, TelegramConversation
from regdesk.tickets import crypto
from regdesk.tickets.services import (
    DESCRIPTION_FIELD,
    TicketError,
    attachments_check,
    ticket_create,
)

State = TelegramConversation.State
Outcome = Inbound.Outcome
REQUEST_STATES = (State.CHOOSE_TYPE, State.SUBJECT, State.DESCRIPTION, State.FIELD, State.CONFIRM)
MB = 1024 * 1024

# Button data (Telegram allows 64 bytes; regulation identifiers are short).
TYPE = "t:"
CHOICE = "c:"
PICK = "m:"
PICKED = "m!"
SKIP = "skip"
CONFIRM = "ok"
CANCEL = "cancel"


@dataclass
class Turn:
    """One update being handled: who wrote, in which chat, under which regulation."""

    bot: TelegramBot
    update: TelegramUpdate
    conversation: TelegramConversation
    person: Person | None
    regulation: Regulation
    lang: str
    outbox: Outbox

    @property
    def desk(self) -> Desk:
        return self.bot.desk

    @property
    def text(self) -> str:
        """What the person answered: the text or caption, or the button pressed."""
        if self.update.callback_data:
            return self.update.callback_data
        return self.update.message.text.strip() if self.update.message else ""

    @property
    def files(self) -> tuple[RemoteFile, ...]:
        return self.update.message.remote_files if self.update.message else ()

    def result(self, what: str, outcome: str = Outcome.NONE) -> HandlerResult:
        return HandlerResult(outcome=outcome, result=what, desk=self.desk)


def telegram_channel_id(*, bot: TelegramBot, regulation: Regulation) -> str:
    """The regulation's channel this bot is: the Telegram channel naming it, else the first
    Telegram channel that opens requests."""
    channels = [c for c in regulation.channels if c.kind is ChannelKind.TELEGRAM]
    for channel in channels:
        if (channel.address or "").lstrip("@").lower() == bot.username.lower():
            return channel.id
    opening = [c for c in channels if c.role is ChannelRole.OPENS] or channels
    return opening[0].id if opening else "telegram"


def conversation_save(conversation: TelegramConversation, state: str, data: dict[str, Any]) -> None:
    conversation.state = state
    conversation.data = data
    conversation.save(update_fields=["state", "data", "updated_at"])


# --------------------------------------------------------------------------- files


def files_fetch(
    turn: Turn, remotes: list[RemoteFile] | tuple[RemoteFile, ...]
) -> tuple[list[tuple[RemoteFile, UploadedFile]], list[str]]:
    """Download the files and hold them to the attachment policy: (accepted, problems)."""
    policy = turn.regulation.attachments
    accepted: list[tuple[RemoteFile, UploadedFile]] = []
    problems: list[str] = []
    for remote in remotes:
        if remote.size is not None and remote.size > policy.max_size_mb * MB:
            problems.append(
                _("%(name)s: %(size).1f MB is over the %(limit)g MB limit")
                % {"name": remote.filename, "size": remote.size / MB, "limit": policy.max_size_mb}
            )
            continue
        try:
            data = file_download(turn.bot, remote.file_id)
        except TelegramError as exc:
            problems.append(
                _("%(name)s could not be fetched from Telegram (%(error)s)")
                % {"name": remote.filename, "error": exc}
            )
            continue
        upload = SimpleUploadedFile(remote.filename, data, content_type=remote.content_type)
        found = attachments_check(regulation=turn.regulation, uploads=[upload])
        if found:
            problems.extend(found.values())
        else:
            accepted.append((remote, upload))
    return accepted, problems


def files_refused_say(turn: Turn, problems: list[str]) -> None:
    if not problems:
        return
    lines = [_("Not accepted under the support regulation:"), *[f"• {p}" for p in problems]]
    note = local_text(turn.regulation.attachments.note, turn.lang)
    if note:
        lines.append(note)
    turn.outbox.say("\n".join(lines))


def _remote(item: dict[str, Any]) -> RemoteFile:
    return RemoteFile(
        file_id=str(item["file_id"]),
        filename=str(item["filename"]),
        content_type=str(item.get("content_type", "")),
        size=item.get("size"),
        kind=str(item.get("kind", "document")),
    )


# --------------------------------------------------------------------------- steps


def request_begin(turn: Turn) -> HandlerResult:
    conversation_save(turn.conversation, State.CHOOSE_TYPE, {})
    _ask_type(turn)
    return turn.result("asked: request type")


def _ask_type(turn: Turn) -> None:
    buttons: Buttons = [
        [(local_text(t.title, turn.lang), f"{TYPE}{t.id}")] for t in turn.regulation.request_types
    ]
    turn.outbox.say(_("What is your request about?"), buttons)


def request_input(turn: Turn) -> HandlerResult:
    """An answer (text, button or file) while a request is being put together."""
    conversation = turn.conversation
    data = dict(conversation.data)
    if turn.files:
        if conversation.state == State.CHOOSE_TYPE:
            turn.outbox.say(_("Choose the request type first; then send the files."))
            _ask_type(turn)
            return turn.result("asked: request type")
        accepted, problems = files_fetch(turn, turn.files)
        files_refused_say(turn, problems)
        data["files"] = [
            *data.get("files", []),
            *[
                {
                    "file_id": f.file_id,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                    "kind": f.kind,
                }
                for f, _upload in accepted
            ],
        ]
        if accepted:
            names = ", ".join(f.filename for f, _upload in accepted)
            turn.outbox.say(_("Added to the request: %(names)s") % {"names": names})
        conversation_save(conversation, conversation.state, data)
        if not turn.text:
            return turn.result(f"files: {len(accepted)} added, {len(problems)} refused")
    state = conversation.state
    if state == State.CHOOSE_TYPE:
        return _type_chosen(turn, data)
    if state == State.SUBJECT:
        return _subject_given(turn, data)
    if state == State.DESCRIPTION:
        return _description_given(turn, data)
    if state == State.FIELD:
        return _field_given(turn, data)
    return _confirmation(turn, data)


def _type_chosen(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    answer = turn.text
    chosen = ""
    for rtype in turn.regulation.request_types:
        title = local_text(rtype.title, turn.lang)
        if answer in (f"{TYPE}{rtype.id}", rtype.id) or answer.casefold() == title.casefold():
            chosen = rtype.id
    if not chosen:
        if answer:
            turn.outbox.say(_("Please choose one of the buttons."))
        _ask_type(turn)
        return turn.result("asked: request type")
    data.update(type=chosen, fields={}, secrets={}, asked=[])
    conversation_save(turn.conversation, State.SUBJECT, data)
    title = local_text(turn.regulation.request_type(chosen).title, turn.lang)
    turn.outbox.say(_("%(type)s. Write a short subject for the request.") % {"type": title})
    return turn.result("asked: subject")


def _subject_given(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    subject = turn.text
    if not subject or turn.update.callback_data:
        turn.outbox.say(_("Write a short subject for the request."))
        return turn.result("asked: subject")
    data["subject"] = subject[:300]
    conversation_save(turn.conversation, State.DESCRIPTION, data)
    _ask_description(turn, data)
    return turn.result("asked: description")


def _ask_description(turn: Turn, data: dict[str, Any]) -> None:
    specs = {s.id: s for s in turn.regulation.fields_for(data["type"])}
    spec = specs.get(DESCRIPTION_FIELD)
    question = local_text(spec.label, turn.lang) if spec else ""
    turn.outbox.say(question or _("Describe the request in as much detail as you can."))


def _description_given(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    if not turn.text or turn.update.callback_data:
        _ask_description(turn, data)
        return turn.result("asked: description")
    data["description"] = turn.text
    return _ask_next(turn, data)


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """The values so far as conditions see them (secrets count as given)."""
    present: dict[str, Any] = {
        **data.get("fields", {}),
        **dict.fromkeys(data.get("secrets", {}), "***"),
    }
    if data.get("description"):
        present[DESCRIPTION_FIELD] = data["description"]
    return present


def next_field(regulation: Regulation, data: dict[str, Any]) -> FieldSpec | None:
    """The next field to ask: the first one shown and not yet asked, then any that a later
    answer made required."""
    request_type = data["type"]
    present = _present(data)
    asked = set(data.get("asked", []))
    for spec in regulation.fields_for(request_type):
        if spec.id == DESCRIPTION_FIELD or spec.id in asked:
            continue
        if spec.is_shown(request_type, present):
            return spec
    for spec in regulation.missing_fields(request_type, present):
        if spec.id != DESCRIPTION_FIELD:
            return spec
    return None


def _ask_next(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    spec = next_field(turn.regulation, data)
    if spec is None:
        data.pop("field", None)
        conversation_save(turn.conversation, State.CONFIRM, data)
        _ask_confirmation(turn, data)
        return turn.result("asked: confirmation")
    data["field"] = spec.id
    data["picked"] = []
    conversation_save(turn.conversation, State.FIELD, data)
    _ask_field(turn, spec, data)
    return turn.result(f"asked: {spec.id}")


def _ask_field(turn: Turn, spec: FieldSpec, data: dict[str, Any]) -> None:
    required = spec.is_required(data["type"], _present(data))
    label = local_text(spec.label, turn.lang)
    lines = [f"{label}{' *' if required else ''}"]
    help_text = local_text(spec.help, turn.lang)
    if help_text:
        lines.append(help_text)
    buttons: Buttons = []
    if spec.kind is FieldKind.CHOICE:
        buttons = [[(local_text(c.title, turn.lang), f"{CHOICE}{c.id}")] for c in spec.choices]
    elif spec.kind is FieldKind.MULTICHOICE:
        picked = set(data.get("picked", []))
        buttons = [
            [(("✓ " if c.id in picked else "") + local_text(c.title, turn.lang), f"{PICK}{c.id}")]
            for c in spec.choices
        ]
        buttons.append([(_("Done"), PICKED)])
        lines.append(_("Choose one or more, then press Done."))
    if not required:
        lines.append(_("Optional: send /skip to leave it out."))
        buttons.append([(_("Skip"), SKIP)])
    turn.outbox.say("\n".join(lines), buttons or None)


def _field_given(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    specs = {s.id: s for s in turn.regulation.fields_for(data["type"])}
    spec = specs.get(str(data.get("field")))
    if spec is None:  # the regulation changed under the conversation: go on with what is next
        return _ask_next(turn, data)
    answer = turn.text
    asked = [*data.get("asked", []), spec.id]
    if answer in ("/skip", SKIP):
        if spec.is_required(data["type"], _present(data)):
            turn.outbox.say(_("This one is required."))
            _ask_field(turn, spec, data)
            return turn.result(f"asked: {spec.id}")
        data["asked"] = asked
        return _ask_next(turn, data)
    value: Any = answer
    if spec.kind is FieldKind.MULTICHOICE:
        if answer.startswith(PICK):
            picked = list(data.get("picked", []))
            choice = answer[len(PICK) :]
            picked = [p for p in picked if p != choice] if choice in picked else [*picked, choice]
            data["picked"] = picked
            conversation_save(turn.conversation, State.FIELD, data)
            _ask_field(turn, spec, data)
            return turn.result(f"asked: {spec.id}")
        value = list(data.get("picked", [])) if answer == PICKED else _choices_typed(spec, answer)
    elif spec.kind is FieldKind.CHOICE:
        value = answer[len(CHOICE) :] if answer.startswith(CHOICE) else _choices_typed(spec, answer)
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
    elif turn.update.callback_data or not answer:
        _ask_field(turn, spec, data)
        return turn.result(f"asked: {spec.id}")
    check = check_fields(turn.regulation, data["type"], {**data.get("fields", {}), spec.id: value})
    error = check.errors.get(spec.id)
    if error or value in ("", []):
        turn.outbox.say(_("That does not fit: %(error)s") % {"error": error or _("no answer")})
        _ask_field(turn, spec, data)
        return turn.result(f"asked again: {spec.id}")
    if spec.kind is FieldKind.SECRET:
        # kept encrypted until the request is registered (and then in the ticket's secrets)
        data["secrets"] = {**data.get("secrets", {}), spec.id: crypto.encrypt(str(value)).decode()}
    else:
        data["fields"] = {**data.get("fields", {}), spec.id: check.values[spec.id]}
    data["asked"] = asked
    return _ask_next(turn, data)


def _choices_typed(spec: FieldSpec, answer: str) -> list[str] | str:
    """Choice ids for typed titles or ids (comma-separated); the text as it is if none match."""
    found = []
    for part in (p.strip().casefold() for p in answer.split(",")):
        for choice in spec.choices:
            titles = choice.title.values() if isinstance(choice.title, dict) else [choice.title]
            if part == choice.id.casefold() or part in (t.casefold() for t in titles):
                found.append(choice.id)
    return found or answer


def _ask_confirmation(turn: Turn, data: dict[str, Any]) -> None:
    regulation = turn.regulation
    specs = {s.id: s for s in regulation.fields_for(data["type"])}
    lines = [
        _("Please check your request:"),
        "",
        _("Type: %(value)s")
        % {"value": local_text(regulation.request_type(data["type"]).title, turn.lang)},
        _("Subject: %(value)s") % {"value": data["subject"]},
        _("Description: %(value)s") % {"value": data["description"]},
    ]
    # In the regulation's order (the stored JSON's key order is not kept by every database).
    values, secrets = data.get("fields", {}), data.get("secrets", {})
    for spec in specs.values():
        label = local_text(spec.label, turn.lang)
        if spec.id in secrets:
            lines.append(f"{label}: ••••••")
        if spec.id not in values:
            continue
        value = values[spec.id]
        if spec.choices:
            titles = {c.id: local_text(c.title, turn.lang) for c in spec.choices}
            items = value if isinstance(value, list) else [value]
            value = ", ".join(titles.get(str(v), str(v)) for v in items)
        lines.append(f"{label}: {value}")
    files = data.get("files", [])
    if files:
        names = ", ".join(f["filename"] for f in files)
        lines.append(_("Files: %(names)s") % {"names": names})
    turn.outbox.say("\n".join(lines), [[(_("Register"), CONFIRM), (_("Cancel"), CANCEL)]])


def _confirmation(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    answer = turn.text
    if answer == CANCEL:
        conversation_save(turn.conversation, State.IDLE, {})
        turn.outbox.say(_("Cancelled; nothing was registered. Send /new to start again."))
        return turn.result("cancelled")
    if answer != CONFIRM:
        _ask_confirmation(turn, data)
        return turn.result("asked: confirmation")
    return _register(turn, data)


def _register(turn: Turn, data: dict[str, Any]) -> HandlerResult:
    assert turn.person is not None
    accepted, problems = files_fetch(turn, [_remote(item) for item in data.get("files", [])])
    files_refused_say(turn, problems)
    secrets = {k: crypto.decrypt(v.encode()) for k, v in data.get("secrets", {}).items()}
    try:
        ticket = ticket_create(
            desk=turn.desk,
            requester=turn.person,
            request_type=data["type"],
            subject=data["subject"],
            body=data["description"],
            fields={**data.get("fields", {}), **secrets},
            channel=telegram_channel_id(bot=turn.bot, regulation=turn.regulation),
            attachments=[upload for _remote_file, upload in accepted],
            language=turn.lang,
            strict=False,
        )
    except TicketError as exc:
        conversation_save(turn.conversation, State.IDLE, {})
        details = "\n".join(f"• {field}: {text}" for field, text in exc.errors.items())
        turn.outbox.say(
            "\n".join([exc.message, details, _("Send /new to start again.")]).replace("\n\n", "\n")
        )
        return turn.result(f"refused: {exc.message}", Outcome.REFUSED)
    conversation_save(turn.conversation, State.IDLE, {})
    turn.outbox.say(
        _(
            "Your request is registered under the number %(ref)s. We will write to you here; "
            "to add something, reply to this message."
        )
        % {"ref": ticket.reference}
    )
    return HandlerResult(
        outcome=Outcome.TICKET, result=ticket.reference, ticket=ticket, desk=turn.desk
    )

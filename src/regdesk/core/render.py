"""The published regulation: a :class:`Regulation` as the customer reads it.

:func:`render_regulation` turns one regulation version into plain, markdown-ish text (headings,
bullets, simple tables) in English or Russian: how to reach support and what each channel is
for, support hours, what every request must say, priorities, targets, escalation contacts,
product lifecycle and the regulation's own prose sections. Labels come from a small table of
UI strings below; the regulation's own texts are picked with :func:`local_text`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from regdesk.core.regulation import (
    CalendarSpec,
    Channel,
    ClockName,
    ClockSpec,
    Condition,
    FieldKind,
    FieldSpec,
    LocalText,
    Product,
    Regulation,
    Status,
    TargetKind,
    TargetRule,
    Unit,
    local_text,
)

__all__ = ["render_regulation"]

_UI: dict[str, dict[str, str]] = {
    "en": {
        "version": "Version {version}, effective from {effective}",
        "organisation": "Organisation: {name}",
        "source": "Published at: {source}",
        "languages": "Languages of support: {languages}",
        "contact": "How to contact support",
        "role.opens": "for new requests",
        "role.follow_up": (
            "only for follow-ups on an existing request; a new request sent here is not registered"
        ),
        "role.consultation": "consultations only; not registered as a request",
        "role.coordination": (
            "urgent questions and coordination on an existing request; full answers are given "
            "in writing"
        ),
        "official.registered": "only messages from your registered address or account are official",
        "unofficial.consultation": "other senders get a consultation, not a registered request",
        "unofficial.refuse": "messages from other senders are refused",
        "unofficial.register": "messages from other senders are registered as well",
        "sets_priority": "requests get the priority {priority}",
        "escalate": "escalated at once",
        "auto_reply": "Automatic answer",
        "hours": "Support hours",
        "always": "24/7",
        "no_holidays": "no public holidays off",
        "holidays": "public holidays of {country} off",
        "weekend_workdays": "transferred working days (production calendar) are worked",
        "closed_on": "also closed on {dates}",
        "open_on": "also open on {dates}",
        "used_by": "Used by: {units}",
        "tiers": "Customer tiers",
        "units": "Lines and teams",
        "requests": "Requests and the information they need",
        "every_request": "Every request",
        "request_fields": "{title}",
        "no_fields": "No further information is required.",
        "no_fields.common": "Only the information every request needs.",
        "required": "required",
        "optional": "optional",
        "required_when": "required when {condition}",
        "shown_when": "asked only when {condition}",
        "cond.type": "the request type is {types}",
        "cond.equals": "{field} is {values}",
        "cond.set": "{field} is given",
        "cond.unset": "{field} is not given",
        "or": "or",
        "and": "and",
        "one_of": "one of",
        "kind.secret": "stored encrypted and shown to support only",
        "one_issue": "One issue per request: please open a separate request for each issue.",
        "handled": (
            "A request counts as handled once a response has been sent; please confirm when "
            "the issue is solved."
        ),
        "acknowledgement": (
            "A request sent by email counts as accepted only once you receive the confirmation "
            "with its unique number."
        ),
        "attachments": "Attachments",
        "attachments.any": "Any file format is accepted.",
        "attachments.allowed": "Accepted formats: {formats} only.",
        "attachments.size": "Up to {size} MB per file.",
        "attachments.encouraged": "Screenshots, logs and other materials are welcome.",
        "priorities": "Priorities",
        "requester_sets_priority": (
            "You set the priority when opening a request; the support specialist may change it."
        ),
        "criteria": "Criteria",
        "targets": "Response and resolution targets",
        "clock.first_response": "First response",
        "clock.next_response": "Next response",
        "clock.resolution": "Resolution",
        "from.first_response": (
            "Counted from the registration of a request to the first reply of support."
        ),
        "from.next_response.first_unanswered": (
            "Counted from your first unanswered message to the reply of support."
        ),
        "from.next_response.last_customer_message": (
            "Counted from your last message: every new message starts the count again."
        ),
        "from.resolution": "Counted from the registration of a request until it is resolved.",
        "paused": "Not counted while: {statuses}.",
        "col.applies": "Applies to",
        "col.target": "Target",
        "col.time": "Counted in",
        "col.note": "Note",
        "all_requests": "all requests",
        "other_requests": "all other requests",
        "key.priority": "priority",
        "key.tier": "tier",
        "key.line": "line",
        "key.team": "team",
        "key.type": "request type",
        "key.channel": "channel",
        "time.business": "business time",
        "time.calendar": "calendar time",
        "target.end_of_business_day": (
            "end of the business day (of the next business day when created outside business hours)"
        ),
        "target.agreed": "agreed with support for each request",
        "target.none": "no target, measured only",
        "hours_unit": "h",
        "minutes_unit": "min",
        "business_note": (
            "Business time counts only during the support hours of the calendar that applies: "
            "the team's when a team handles the request, otherwise the line's, otherwise the "
            "desk's."
        ),
        "escalation": "Escalation",
        "escalation.intro": "If a request needs attention beyond the normal course, contact:",
        "contact.via_support": "reached through support",
        "lifecycle": "Product lifecycle",
        "lifecycle.years": "each version is supported for {years} years from its release date",
        "lifecycle.unlimited": "supported without a version time limit",
        "lifecycle.version": "{version}: released {released}, supported until {until}",
        "refusal": "Support may refuse a request for these reasons:",
        "rules": "Handling of requests",
        "status.new": "new",
        "status.accepted": "accepted",
        "status.waiting_for_customer": "waiting for your reply",
        "status.answered": "answered",
        "status.resolved": "resolved",
        "status.refused": "refused",
        "status.merged": "merged",
        "channel.email": "Email",
        "channel.telegram": "Telegram",
        "channel.portal": "Portal",
        "channel.widget": "Request form",
        "channel.api": "API",
        "channel.helpdesk_service": "Helpdesk service",
        "channel.phone": "Phone",
        "channel.chat": "Chat",
        "channel.social": "Social networks",
        "lang.en": "English",
        "lang.ru": "Russian",
        "lang.es": "Spanish",
        "lang.pt": "Portuguese",
        "lang.fr": "French",
        "lang.it": "Italian",
        "lang.de": "German",
        "day.mon": "Mon",
        "day.tue": "Tue",
        "day.wed": "Wed",
        "day.thu": "Thu",
        "day.fri": "Fri",
        "day.sat": "Sat",
        "day.sun": "Sun",
    },
    "ru": {
        "version": "Редакция {version}, действует с {effective}",
        "organisation": "Организация: {name}",
        "source": "Опубликован: {source}",
        "languages": "Языки поддержки: {languages}",
        "contact": "Как обратиться в поддержку",
        "role.opens": "для новых обращений",
        "role.follow_up": (
            "только для переписки по открытому обращению; новое обращение здесь не регистрируется"
        ),
        "role.consultation": "только консультации; обращение не регистрируется",
        "role.coordination": (
            "срочные вопросы и согласование по открытому обращению; полные ответы даются письменно"
        ),
        "official.registered": (
            "официальными считаются только сообщения с вашего зарегистрированного адреса или "
            "аккаунта"
        ),
        "unofficial.consultation": (
            "сообщения других отправителей считаются консультацией, а не обращением"
        ),
        "unofficial.refuse": "сообщения других отправителей отклоняются",
        "unofficial.register": "сообщения других отправителей тоже регистрируются",
        "sets_priority": "обращения получают приоритет «{priority}»",
        "escalate": "эскалируются сразу",
        "auto_reply": "Автоматический ответ",
        "hours": "Часы работы поддержки",
        "always": "круглосуточно, 7 дней в неделю",
        "no_holidays": "без праздничных выходных",
        "holidays": "праздничные дни ({country}) — выходные",
        "weekend_workdays": "перенесённые рабочие дни (производственный календарь) — рабочие",
        "closed_on": "также не работает {dates}",
        "open_on": "также работает {dates}",
        "used_by": "Применяется: {units}",
        "tiers": "Категории клиентов",
        "units": "Линии и команды",
        "requests": "Обращения и необходимая информация",
        "every_request": "Для любого обращения",
        "request_fields": "{title}",
        "no_fields": "Дополнительных сведений не требуется.",
        "no_fields.common": "Только сведения, нужные для любого обращения.",
        "required": "обязательно",
        "optional": "по желанию",
        "required_when": "обязательно, если {condition}",
        "shown_when": "запрашивается, только если {condition}",
        "cond.type": "тип обращения — {types}",
        "cond.equals": "«{field}» — {values}",
        "cond.set": "указано «{field}»",
        "cond.unset": "не указано «{field}»",
        "or": "или",
        "and": "и",
        "one_of": "одно из",
        "kind.secret": "хранится в зашифрованном виде и доступно только поддержке",
        "one_issue": (
            "Одно обращение — один вопрос: по каждому вопросу создайте отдельное обращение."
        ),
        "handled": (
            "Обращение считается обработанным после отправки ответа; пожалуйста, подтвердите, "
            "когда вопрос решён."
        ),
        "acknowledgement": (
            "Обращение по электронной почте считается принятым только после того, как вы "
            "получили подтверждение с его уникальным номером."
        ),
        "attachments": "Вложения",
        "attachments.any": "Принимаются файлы любых форматов.",
        "attachments.allowed": "Допустимые форматы: только {formats}.",
        "attachments.size": "До {size} МБ на файл.",
        "attachments.encouraged": "Скриншоты, логи и другие материалы приветствуются.",
        "priorities": "Приоритеты",
        "requester_sets_priority": (
            "Приоритет задаёте вы при создании обращения; специалист поддержки может его изменить."
        ),
        "criteria": "Критерии",
        "targets": "Сроки ответа и решения",
        "clock.first_response": "Первый ответ",
        "clock.next_response": "Следующий ответ",
        "clock.resolution": "Решение",
        "from.first_response": (
            "Отсчитывается от регистрации обращения до первого ответа поддержки."
        ),
        "from.next_response.first_unanswered": (
            "Отсчитывается от вашего первого сообщения без ответа до ответа поддержки."
        ),
        "from.next_response.last_customer_message": (
            "Отсчитывается от вашего последнего сообщения: каждое новое сообщение начинает отсчёт "
            "заново."
        ),
        "from.resolution": "Отсчитывается от регистрации обращения до его решения.",
        "paused": "Не учитывается время в состоянии: {statuses}.",
        "col.applies": "Для",
        "col.target": "Срок",
        "col.time": "Время",
        "col.note": "Примечание",
        "all_requests": "все обращения",
        "other_requests": "все остальные обращения",
        "key.priority": "приоритет",
        "key.tier": "категория",
        "key.line": "линия",
        "key.team": "команда",
        "key.type": "тип обращения",
        "key.channel": "канал",
        "time.business": "рабочее время",
        "time.calendar": "календарное время",
        "target.end_of_business_day": (
            "до конца рабочего дня (следующего рабочего дня, если обращение создано в нерабочее "
            "время)"
        ),
        "target.agreed": "согласовывается со специалистом поддержки для каждого обращения",
        "target.none": "без норматива, только измеряется",
        "hours_unit": "ч",
        "minutes_unit": "мин",
        "business_note": (
            "Рабочее время учитывается только в часы работы применимого календаря: команды, "
            "если обращением занимается команда, иначе линии, иначе службы поддержки."
        ),
        "escalation": "Эскалация",
        "escalation.intro": "Если обращению нужно особое внимание, свяжитесь:",
        "contact.via_support": "через службу поддержки",
        "lifecycle": "Жизненный цикл продуктов",
        "lifecycle.years": "каждая версия поддерживается {years} лет с даты её выпуска",
        "lifecycle.unlimited": "поддерживается без ограничения срока для версий",
        "lifecycle.version": "{version}: выпущена {released}, поддерживается до {until}",
        "refusal": "Поддержка может отказать в обслуживании по причинам:",
        "rules": "Обработка обращений",
        "status.new": "новое",
        "status.accepted": "принято",
        "status.waiting_for_customer": "ожидает вашего ответа",
        "status.answered": "дан ответ",
        "status.resolved": "решено",
        "status.refused": "отклонено",
        "status.merged": "объединено",
        "channel.email": "Электронная почта",
        "channel.telegram": "Telegram",
        "channel.portal": "Портал",
        "channel.widget": "Форма обращения",
        "channel.api": "API",
        "channel.helpdesk_service": "Сервис поддержки",
        "channel.phone": "Телефон",
        "channel.chat": "Чат",
        "channel.social": "Социальные сети",
        "lang.en": "английский",
        "lang.ru": "русский",
        "lang.es": "испанский",
        "lang.pt": "португальский",
        "lang.fr": "французский",
        "lang.it": "итальянский",
        "lang.de": "немецкий",
        "day.mon": "Пн",
        "day.tue": "Вт",
        "day.wed": "Ср",
        "day.thu": "Чт",
        "day.fri": "Пт",
        "day.sat": "Сб",
        "day.sun": "Вс",
    },
}

_FORMAT_NAMES = {"jpeg": "JPG", "jpg": "JPG"}
_CLOCK_ORDER = (ClockName.FIRST_RESPONSE, ClockName.NEXT_RESPONSE, ClockName.RESOLUTION)
_WHEN_KEYS = ("priority", "tier", "line", "team", "type", "channel")


def _ui(key: str, lang: str, **values: object) -> str:
    """A UI string in ``lang`` (falling back to English), with ``values`` filled in."""
    text = _UI.get(lang, _UI["en"]).get(key) or _UI["en"].get(key, key)
    return text.format(**values) if values else text


def render_regulation(reg: Regulation, lang: str = "en") -> str:
    """The published regulation as a customer reads it, in ``lang`` (``en`` or ``ru``).

    Plain text with markdown-style headings, bullets and tables, so it reads well in a
    terminal, an email or a web page alike.
    """
    out = _Writer()
    out.heading(1, local_text(reg.title, lang))
    out.line(_ui("version", lang, version=reg.version, effective=_instant(reg.effective_from)))
    if reg.organisation:
        out.line(_ui("organisation", lang, name=reg.organisation))
    if reg.source:
        out.line(_ui("source", lang, source=reg.source))
    languages = ", ".join(_ui(f"lang.{code}", lang) for code in reg.languages)
    out.line(_ui("languages", lang, languages=languages))
    out.paragraph(local_text(reg.summary, lang))

    _contact(out, reg, lang)
    _hours(out, reg, lang)
    _organisation(out, reg, lang)
    _requests(out, reg, lang)
    _attachments(out, reg, lang)
    _priorities(out, reg, lang)
    _targets(out, reg, lang)
    _escalation(out, reg, lang)
    _lifecycle(out, reg, lang)
    _rules(out, reg, lang)
    for section in reg.sections:
        out.heading(2, local_text(section.title, lang))
        out.paragraph(local_text(section.body, lang))
    return out.text()


# --------------------------------------------------------------------------- output


class _Writer:
    def __init__(self) -> None:
        self._lines: list[str] = []

    def _gap(self) -> None:
        if self._lines and self._lines[-1] != "":
            self._lines.append("")

    def heading(self, level: int, text: str) -> None:
        self._gap()
        self._lines.append(f"{'#' * level} {text}")
        self._lines.append("")

    def line(self, text: str) -> None:
        self._lines.append(text)

    def paragraph(self, text: str) -> None:
        text = text.strip()
        if text:
            self._gap()
            self._lines.extend(text.splitlines())
            self._lines.append("")

    def bullet(self, text: str, level: int = 0) -> None:
        self._lines.append(f"{'  ' * level}- {text}")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self._gap()
        self._lines.append("| " + " | ".join(header) + " |")
        self._lines.append("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            cells = [cell.replace("|", "/").replace("\n", " ") for cell in row]
            self._lines.append("| " + " | ".join(cells) + " |")
        self._lines.append("")

    def text(self) -> str:
        while self._lines and self._lines[-1] == "":
            self._lines.pop()
        return "\n".join(self._lines) + "\n"


# --------------------------------------------------------------------------- small formatters


def _instant(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{moment:%Y-%m-%d %H:%M} (UTC{sign}{hours:02d}:{mins:02d})"


def _duration(span: timedelta, lang: str) -> str:
    minutes = round(span.total_seconds() / 60)
    hours, mins = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} {_ui('hours_unit', lang)}")
    if mins or not hours:
        parts.append(f"{mins} {_ui('minutes_unit', lang)}")
    return " ".join(parts)


def _joined(items: list[str], lang: str, word: str = "or") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_ui(word, lang)} {items[-1]}"


def _unit_title(units: list[Unit], unit_id: str, lang: str) -> str:
    for unit in units:
        if unit.id == unit_id:
            return local_text(unit.title, lang)
    return unit_id


def _channel_title(channel: Channel, lang: str) -> str:
    return local_text(channel.title, lang) or _ui(f"channel.{channel.kind.value}", lang)


def _fact_title(reg: Regulation, key: str, value: str, lang: str) -> str:
    """The human name of a priority, tier, line, team, request type or channel id."""
    try:
        if key == "priority":
            return local_text(reg.priority(value).title, lang)
        if key == "type":
            return local_text(reg.request_type(value).title, lang)
        if key == "channel":
            return _channel_title(reg.channel(value), lang)
    except KeyError:
        return value
    units = {"tier": reg.tiers, "line": reg.lines, "team": reg.teams}.get(key, [])
    return _unit_title(units, value, lang)


# --------------------------------------------------------------------------- sections


def _contact(out: _Writer, reg: Regulation, lang: str) -> None:
    out.heading(2, _ui("contact", lang))
    for channel in reg.channels:
        name = _channel_title(channel, lang)
        if channel.address:
            name = f"{name}: {channel.address}"
        notes = [_ui(f"role.{channel.role.value}", lang)]
        if channel.sets_priority:
            title = _fact_title(reg, "priority", channel.sets_priority, lang)
            notes.append(_ui("sets_priority", lang, priority=title))
        if channel.escalate:
            notes.append(_ui("escalate", lang))
        if channel.official_senders == "registered":
            notes.append(_ui("official.registered", lang))
            notes.append(_ui(f"unofficial.{channel.unofficial}", lang))
        out.bullet(f"{name} — {'; '.join(notes)}.")
        if channel.auto_reply:
            reply = " ".join(local_text(channel.auto_reply, lang).split())
            out.bullet(f"{_ui('auto_reply', lang)}: “{reply}”", level=1)


def _week(calendar: CalendarSpec, lang: str) -> str:
    if calendar.week == "24/7":
        return _ui("always", lang)
    parts = []
    for key, intervals in calendar.week.items():
        first, _, last = key.strip().lower().partition("-")
        label = _ui(f"day.{first}", lang)
        if last and last != first:
            label = f"{label}–{_ui(f'day.{last}', lang)}"
        hours = ", ".join(interval.strip().replace("-", "–") for interval in intervals)
        parts.append(f"{label} {hours}")
    return "; ".join(parts)


def _calendar(calendar: CalendarSpec, lang: str) -> str:
    text = f"{_week(calendar, lang)} ({calendar.zone})"
    notes = []
    spec = calendar.holidays
    if spec is None or (spec.country is None and not spec.dates):
        if calendar.week != "24/7":
            notes.append(_ui("no_holidays", lang))
    else:
        if spec.country:
            country = spec.country + (f"-{spec.subdivision}" if spec.subdivision else "")
            notes.append(_ui("holidays", lang, country=country))
        if spec.weekend_workdays:
            notes.append(_ui("weekend_workdays", lang))
        if spec.dates:
            dates = ", ".join(d.isoformat() for d in spec.dates)
            notes.append(_ui("closed_on", lang, dates=dates))
    if calendar.extra_working_days:
        dates = ", ".join(d.isoformat() for d in calendar.extra_working_days)
        notes.append(_ui("open_on", lang, dates=dates))
    return "; ".join([text, *notes])


def _hours(out: _Writer, reg: Regulation, lang: str) -> None:
    out.heading(2, _ui("hours", lang))
    units = [*reg.tiers, *reg.lines, *reg.teams]
    for calendar_id, calendar in reg.calendars.items():
        title = local_text(calendar.title, lang) or calendar_id
        out.bullet(f"{title}: {_calendar(calendar, lang)}.")
        users = [local_text(u.title, lang) for u in units if u.calendar == calendar_id]
        if users:
            out.bullet(_ui("used_by", lang, units=", ".join(users)) + ".", level=1)


def _organisation(out: _Writer, reg: Regulation, lang: str) -> None:
    if reg.tiers:
        out.heading(2, _ui("tiers", lang))
        for unit in reg.tiers:
            _unit(out, unit, lang)
    if reg.lines or reg.teams:
        out.heading(2, _ui("units", lang))
        for unit in [*reg.lines, *reg.teams]:
            _unit(out, unit, lang)


def _unit(out: _Writer, unit: Unit, lang: str) -> None:
    text = local_text(unit.title, lang)
    description = local_text(unit.description, lang).strip()
    out.bullet(f"{text}: {description}" if description else text)


def _condition(condition: Condition, fields: list[FieldSpec], reg: Regulation, lang: str) -> str:
    parts = []
    if condition.type:
        types = [_fact_title(reg, "type", t, lang) for t in condition.type]
        parts.append(_ui("cond.type", lang, types=_joined(types, lang)))
    if condition.field is not None:
        spec = next((f for f in fields if f.id == condition.field), None)
        label = local_text(spec.label, lang) if spec else condition.field
        if condition.equals is not None:
            titles = {c.id: local_text(c.title, lang) for c in (spec.choices if spec else [])}
            values = [titles.get(v, v) for v in condition.equals]
            parts.append(_ui("cond.equals", lang, field=label, values=_joined(values, lang)))
        if condition.is_set is not None:
            key = "cond.set" if condition.is_set else "cond.unset"
            parts.append(_ui(key, lang, field=label))
    return f" {_ui('and', lang)} ".join(parts)


def _field(
    out: _Writer, spec: FieldSpec, fields: list[FieldSpec], reg: Regulation, lang: str
) -> None:
    if spec.required_when is not None:
        need = _ui(
            "required_when", lang, condition=_condition(spec.required_when, fields, reg, lang)
        )
    else:
        need = _ui("required" if spec.required else "optional", lang)
    notes = [need]
    if spec.shown_when is not None:
        condition = _condition(spec.shown_when, fields, reg, lang)
        notes.append(_ui("shown_when", lang, condition=condition))
    if spec.kind is FieldKind.SECRET:
        notes.append(_ui("kind.secret", lang))
    text = f"{local_text(spec.label, lang)} ({'; '.join(notes)})"
    help_text = " ".join(local_text(spec.help, lang).split())
    out.bullet(f"{text}: {help_text}" if help_text else text)
    if spec.choices:
        out.bullet(f"{_ui('one_of', lang)}:", level=1)
        for choice in spec.choices:
            out.bullet(local_text(choice.title, lang), level=2)


def _requests(out: _Writer, reg: Regulation, lang: str) -> None:
    out.heading(2, _ui("requests", lang))
    if reg.common_fields:
        out.heading(3, _ui("every_request", lang))
        for spec in reg.common_fields:
            _field(out, spec, reg.common_fields, reg, lang)
    for rtype in reg.request_types:
        out.heading(3, local_text(rtype.title, lang))
        description = local_text(rtype.description, lang).strip()
        if description:
            out.paragraph(description)
        fields = reg.fields_for(rtype.id)
        if not rtype.fields:
            out.line(_ui("no_fields.common" if reg.common_fields else "no_fields", lang))
        for spec in rtype.fields:
            _field(out, spec, fields, reg, lang)


def _attachments(out: _Writer, reg: Regulation, lang: str) -> None:
    policy = reg.attachments
    out.heading(2, _ui("attachments", lang))
    if policy.allowed == "any":
        out.line(_ui("attachments.any", lang))
    else:
        names = [_FORMAT_NAMES.get(f.lower(), f.upper()) for f in policy.allowed]
        out.line(_ui("attachments.allowed", lang, formats=", ".join(names)))
    out.line(_ui("attachments.size", lang, size=f"{policy.max_size_mb:g}"))
    note = local_text(policy.note, lang)
    if note:
        out.paragraph(note)
    elif policy.encouraged:
        out.line(_ui("attachments.encouraged", lang))


def _priorities(out: _Writer, reg: Regulation, lang: str) -> None:
    out.heading(2, _ui("priorities", lang))
    for priority in reg.priorities:
        title = local_text(priority.title, lang)
        description = local_text(priority.description, lang).strip()
        out.bullet(f"{title}: {description}" if description else title)
        for criterion in priority.criteria:
            out.bullet(" ".join(local_text(criterion, lang).split()), level=1)
    if reg.requester_sets_priority:
        out.paragraph(_ui("requester_sets_priority", lang))


def _applies_to(reg: Regulation, rule: TargetRule, first: bool, lang: str) -> str:
    parts = []
    for key in _WHEN_KEYS:
        wanted: list[str] | None = getattr(rule.when, key)
        if wanted:
            titles = [_fact_title(reg, key, value, lang) for value in wanted]
            parts.append(f"{_ui(f'key.{key}', lang)}: {_joined(titles, lang)}")
    if parts:
        return "; ".join(parts)
    return _ui("all_requests" if first else "other_requests", lang)


def _target(rule: TargetRule, lang: str) -> tuple[str, str]:
    """(target, counted in) cells of one row of a target table."""
    if rule.kind is TargetKind.DURATION:
        assert rule.duration is not None
        return _duration(rule.duration, lang), _ui(f"time.{rule.time}", lang)
    if rule.kind is TargetKind.END_OF_BUSINESS_DAY:
        return _ui("target.end_of_business_day", lang), _ui("time.business", lang)
    return _ui(f"target.{rule.kind.value}", lang), _ui(f"time.{rule.time}", lang)


def _clock(out: _Writer, reg: Regulation, clock: ClockName, spec: ClockSpec, lang: str) -> None:
    name = _ui(f"clock.{clock.value}", lang)
    title = local_text(spec.title, lang)
    out.heading(3, title or name)
    if clock is ClockName.NEXT_RESPONSE:
        out.line(_ui(f"from.next_response.{spec.counts_from}", lang))
    else:
        out.line(_ui(f"from.{clock.value}", lang))
    # As the clock engine does: resolution pauses while waiting for the customer unless the
    # regulation lists its own pauses.
    pauses = spec.pause_in or (
        [Status.WAITING_FOR_CUSTOMER] if clock is ClockName.RESOLUTION else []
    )
    if pauses:
        statuses = ", ".join(_ui(f"status.{s.value}", lang) for s in pauses)
        out.line(_ui("paused", lang, statuses=statuses))
    with_notes = any(local_text(rule.label, lang) for rule in spec.targets)
    header = [_ui("col.applies", lang), _ui("col.target", lang), _ui("col.time", lang)]
    if with_notes:
        header.append(_ui("col.note", lang))
    rows = []
    for n, rule in enumerate(spec.targets):
        target, counted = _target(rule, lang)
        row = [_applies_to(reg, rule, n == 0, lang), target, counted]
        if with_notes:
            row.append(local_text(rule.label, lang))
        rows.append(row)
    if not rows:
        rows.append([_ui("all_requests", lang), _ui("target.none", lang), "—"])
        if with_notes:
            rows[0].append("")
    out.table(header, rows)


def _targets(out: _Writer, reg: Regulation, lang: str) -> None:
    if not reg.clocks:
        return
    out.heading(2, _ui("targets", lang))
    business = False
    for clock in _CLOCK_ORDER:
        spec = reg.clocks.get(clock)
        if spec is None:
            continue
        _clock(out, reg, clock, spec, lang)
        business = business or any(
            rule.time == "business"
            and rule.kind in (TargetKind.DURATION, TargetKind.END_OF_BUSINESS_DAY)
            for rule in spec.targets
        )
    if business and len(reg.calendars) > 1:
        out.paragraph(_ui("business_note", lang))


def _escalation(out: _Writer, reg: Regulation, lang: str) -> None:
    if not reg.escalation_contacts:
        return
    out.heading(2, _ui("escalation", lang))
    out.line(_ui("escalation.intro", lang))
    for contact in reg.escalation_contacts:
        details = [d for d in (contact.name, contact.email, contact.phone) if d]
        title = local_text(contact.title, lang)
        out.bullet(f"{title}: {', '.join(details) or _ui('contact.via_support', lang)}")


def _product(out: _Writer, product: Product, lang: str) -> None:
    title = local_text(product.title, lang)
    if product.support_years is None:
        out.bullet(f"{title}: {_ui('lifecycle.unlimited', lang)}.")
        return
    out.bullet(f"{title}: {_ui('lifecycle.years', lang, years=product.support_years)}.")
    for version in sorted(product.versions, key=lambda v: v.released, reverse=True):
        until = product.supported_until(version.id)
        line = _ui(
            "lifecycle.version",
            lang,
            version=version.title or version.id,
            released=version.released.isoformat(),
            until=until.isoformat() if until else "—",
        )
        out.bullet(line, level=1)


def _lifecycle(out: _Writer, reg: Regulation, lang: str) -> None:
    if not reg.products:
        return
    out.heading(2, _ui("lifecycle", lang))
    for product in reg.products:
        _product(out, product, lang)


def _rules(out: _Writer, reg: Regulation, lang: str) -> None:
    rules = []
    if reg.one_issue_per_ticket:
        rules.append(_ui("one_issue", lang))
    if reg.handled_when_answered:
        rules.append(_ui("handled", lang))
    if reg.acknowledgement_required:
        rules.append(_ui("acknowledgement", lang))
    if not rules and not reg.refusal_reasons:
        return
    out.heading(2, _ui("rules", lang))
    for rule in rules:
        out.bullet(rule)
    if reg.refusal_reasons:
        out.bullet(_ui("refusal", lang))
        for reason in reg.refusal_reasons:
            out.bullet(_local(reason.title, lang), level=1)


def _local(text: LocalText, lang: str) -> str:
    return " ".join(local_text(text, lang).split())

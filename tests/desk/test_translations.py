"""Russian is complete: every marked string has a translation, the shipped .mo matches the .po,
the .po matches the source, and the pages and mails a Russian speaker gets are in Russian."""

from __future__ import annotations

import ast
import gettext
import html as html_lib
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

import regdesk
from regdesk.directory.models import Agent
from regdesk.notifications.models import Notification
from regdesk.tickets.services import ticket_create
from tests.desk.factories import make_agent, make_desk
from tests.desk.portal_support import client_for, customer

PACKAGE = Path(regdesk.__file__).resolve().parent
MESSAGES = PACKAGE / "locale" / "ru" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
RUSSIAN_PLURALS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)")


# --------------------------------------------------------------------------- the catalogue


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)


def parse_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """(header fields, entries) of a .po file as makemessages writes it: one entry per block of
    lines, blocks apart by blank lines."""
    statement = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$")
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, target = Entry(), ("", 0)
        for line in block.strip().splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
            elif line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            else:
                found = statement.match(line)
                if found:
                    keyword, index, text = found.groups()
                    target = (keyword, int(index or 0))
                else:
                    assert line.startswith('"'), f"unexpected line in {path.name}: {line!r}"
                    text = line
                value = ast.literal_eval(text)
                keyword, index = target
                if keyword == "msgstr":
                    entry.msgstr[index] = entry.msgstr.get(index, "") + value
                else:
                    setattr(entry, keyword, (getattr(entry, keyword) or "") + value)
        if entry.msgstr:
            entries.append(entry)
    header_entry = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    header = dict(
        line.split(": ", 1) for line in header_entry.msgstr[0].splitlines() if ": " in line
    )
    return header, [e for e in entries if e is not header_entry and not e.obsolete]


Catalogue = tuple[dict[str, str], list[Entry]]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return parse_po(PO)


def test_the_catalogue_is_russian_with_three_plural_forms(catalogue: Catalogue) -> None:
    header, entries = catalogue
    assert header["Language"] == "ru"
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Plural-Forms"] == RUSSIAN_PLURALS
    assert len(entries) > 500


def test_every_message_is_translated_and_none_is_fuzzy(catalogue: Catalogue) -> None:
    _, entries = catalogue
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    untranslated = [
        e.msgid
        for e in entries
        if sorted(e.msgstr) != ([0, 1, 2] if e.msgid_plural else [0])
        or not all(text.strip() for text in e.msgstr.values())
    ]
    assert fuzzy == []
    assert untranslated == []


def test_translations_keep_every_placeholder(catalogue: Catalogue) -> None:
    _, entries = catalogue
    wrong = []
    for entry in entries:
        singular = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural is None:
            if set(PLACEHOLDER.findall(entry.msgstr[0])) != singular:
                wrong.append(entry.msgid)
            continue
        plural = set(PLACEHOLDER.findall(entry.msgid_plural))
        for index, text in entry.msgstr.items():
            names = set(PLACEHOLDER.findall(text))
            # Russian uses form 0 for 21, 31…: it may name the count the English singular omits.
            if (index == 0 and not names <= singular | plural) or (index > 0 and names != plural):
                wrong.append(f"{entry.msgid} [{index}]")
    assert wrong == []


def test_the_shipped_mo_is_compiled_from_the_po(catalogue: Catalogue) -> None:
    _, entries = catalogue
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    table = compiled._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in entries:
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(msgid, index)] = text
    shipped = {key: value for key, value in table.items() if key != ""}
    assert shipped == expected, "run compilemessages: django.mo is older than django.po"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext is not installed")
def test_msgfmt_accepts_the_catalogue() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_the_po_holds_exactly_the_strings_the_source_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalogue: Catalogue
) -> None:
    # makemessages on a copy of the package: a string marked since the .po was made shows up
    # untranslated, a changed one fuzzy, and a removed one disappears.
    copy = tmp_path / "regdesk"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "*.mo", "*.pyc")
    )
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["ru"], ignore_patterns=["migrations/*"], verbosity=0)
    _, fresh = parse_po(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po")
    _, entries = catalogue
    new_or_changed = [
        e.msgid
        for e in fresh
        if "fuzzy" in e.flags or not all(text.strip() for text in e.msgstr.values())
    ]
    marked = {e.key for e in fresh}
    gone = [e.msgid for e in entries if e.key not in marked]
    hint = "run makemessages -l ru in src/regdesk, translate, then compilemessages"
    assert new_or_changed == [], hint
    assert gone == [], hint


def test_russian_plural_forms_are_chosen_by_the_number() -> None:
    singular = "The regulation has %(counter)s problem; nothing was published."
    plural = "The regulation has %(counter)s problems; nothing was published."
    with translation.override("ru"):
        forms = {n: translation.ngettext(singular, plural, n) for n in (1, 2, 5, 11, 21, 22, 25)}
    assert forms[1] == forms[21] != forms[2]
    assert forms[2] == forms[22] != forms[5]
    assert forms[5] == forms[11] == forms[25]
    assert "ошибка" in forms[1]
    assert "ошибки" in forms[2]
    assert "ошибок" in forms[5]


# --------------------------------------------------------------------------- what people see


def visible_text(page: str) -> str:
    """The page's words as a reader or a screen reader gets them: the text without tags,
    scripts or styles, and the titles, labels and placeholders of its elements."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    labels = re.findall(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"', page)
    return html_lib.unescape(" ".join([re.sub(r"<[^>]+>", " ", page), *labels]))


def english_leftovers(text: str, entries: list[Entry]) -> list[str]:
    """Catalogue source strings of three words or more that a page shows untranslated."""
    found = []
    for entry in entries:
        msgid = entry.msgid
        if PLACEHOLDER.search(msgid) or len(msgid.split()) < 3:
            continue
        if msgid in text:
            found.append(msgid)
    return found


def assert_russian(text: str, entries: list[Entry], *, shows: list[str], hides: list[str]) -> None:
    for words in shows:
        assert words in text, f"{words!r} not shown"
    for words in hides:
        assert words not in text, f"{words!r} shown in English"
    assert english_leftovers(text, entries) == []


@pytest.mark.django_db
def test_the_portal_sign_in_page_in_russian(catalogue: Catalogue) -> None:
    response = Client().get(reverse("portal:login"), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    assert_russian(
        visible_text(response.content.decode()),
        catalogue[1],
        shows=["Вход на портал поддержки", "По паролю", "Без пароля", "Прислать ссылку для входа"],
        hides=["Sign in to the support portal", "With your password", "Email me a sign-in link"],
    )
    # The language menu names each language in itself.
    assert re.search(r">\s*English\s*</option>", response.content.decode())
    assert re.search(r">\s*Русский\s*</option>", response.content.decode())


@pytest.mark.django_db
def test_the_portal_home_in_russian(catalogue: Catalogue) -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk, language="ru")
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="Не работает вход",
        body="Страница входа отвечает 500.",
        channel="widget",
        proposed_priority="high",
        language="ru",
    )
    response = client_for(person).get(reverse("portal:home"))
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert ticket.reference in text
    assert_russian(
        text,
        catalogue[1],
        shows=["Мои заявки", "Куда обратиться за помощью", "Новая заявка", "Зарегистрировано"],
        hides=["My requests", "Where to ask for help", "New request", "Registered"],
    )


@pytest.mark.django_db
def test_the_new_request_form_in_russian(catalogue: Catalogue) -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk, language="ru")
    url = reverse("portal:request_new", args=[desk.slug]) + "?type=incident"
    response = client_for(person).get(url)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert_russian(
        text,
        catalogue[1],
        shows=["Тема", "Приоритет", "Вложения", "обязательно", "Отправить заявку", "Инцидент"],
        hides=["Subject", "Attachments", "(required)", "Send the request", "Incident"],
    )
    # A form sent with mistakes explains them in Russian too.
    response = client_for(person).post(
        reverse("portal:request_new", args=[desk.slug]), {"request_type": "incident"}
    )
    assert response.status_code == 400
    assert_russian(
        visible_text(response.content.decode()),
        catalogue[1],
        shows=["Заявка ещё не отправлена", "Обязательное поле."],
        hides=["Nothing was sent yet", "This field is required."],
    )


@pytest.mark.django_db
def test_the_workspace_queue_and_ticket_in_russian(catalogue: Catalogue) -> None:
    desk = make_desk("service-desk", prefix="SD")
    agent = make_agent(desk)
    Agent.objects.filter(user=agent).update(language="ru")
    ticket = ticket_create(
        desk=desk,
        requester=customer(desk),
        request_type="incident",
        subject="Cannot log in",
        body="The login page says 500.",
        channel="widget",
        proposed_priority="high",
    )
    client = Client()
    client.force_login(agent)
    queue = client.get(reverse("workspace:queue", args=["open"]))
    assert queue.status_code == 200
    text = visible_text(queue.content.decode())
    assert ticket.reference in text
    assert_russian(
        text,
        catalogue[1],
        shows=["Очереди", "Все открытые", "Нарушен срок", "Без исполнителя", "Ближайший срок"],
        hides=["Queues", "All open", "Unassigned", "Next due"],
    )
    assert 'data-units="д ч мин с"' in queue.content.decode()
    page = client.get(reverse("workspace:ticket", args=[ticket.reference]))
    assert page.status_code == 200
    assert_russian(
        visible_text(page.content.decode()),
        catalogue[1],
        shows=["Переписка", "Журнал событий", "Ответ клиенту", "Принять в работу", "Новое"],
        hides=["Event log", "Reply to the customer", "Assign to me", "Internal note"],
    )


@pytest.mark.django_db
def test_a_russian_requester_is_written_to_in_russian(catalogue: Catalogue) -> None:
    desk = make_desk("service-desk", prefix="SD")
    person = customer(desk, language="ru")
    ticket = ticket_create(
        desk=desk,
        requester=person,
        request_type="incident",
        subject="Не работает почта",
        body="С 9:00",
        channel="widget",
    )
    mail = Notification.objects.get(ticket=ticket, event="registered", recipient_person=person)
    assert mail.subject == f"[{ticket.reference}] Ваша заявка зарегистрирована"
    assert_russian(
        mail.body,
        catalogue[1],
        shows=[f"Здравствуйте, {person.full_name}!", "Мы зарегистрировали вашу заявку"],
        hides=["Hello", "We have registered your request"],
    )

"""Customer sign-in: password, emailed one-time link, sign-out."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from regdesk.directory.models import Person, PersonEmail
from regdesk.portal.services import SignInLinkError, signin_link_redeem, signin_link_token
from tests.desk.factories import PersonFactory, make_desk
from tests.desk.portal_support import customer

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/portal/login/link/[^/\s]+/)")


def _signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def _request_link(client: Client, email: str) -> str | None:
    response = client.post(reverse("portal:signin_link_request"), {"email": email})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:signin_link_sent")
    if not mail.outbox:
        return None
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.fixture(autouse=True)
def _base_url(settings):  # type: ignore[no-untyped-def]
    settings.BASE_URL = "http://testserver"


def test_login_page_offers_password_and_link() -> None:
    response = Client().get(reverse("portal:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert reverse("portal:signin_link_request") in html


def test_password_sign_in_by_username_and_by_registered_email() -> None:
    # Given a customer with a password
    person = customer(make_desk("service-desk"))
    client = Client()
    # When they sign in with their username
    response = client.post(
        reverse("portal:login"), {"username": person.user.username, "password": "secret-pass-123"}
    )
    # Then they land on the portal
    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(person.user.pk)
    assert client.get(reverse("home")).url == reverse("portal:home")
    # And a registered email address works as well as the username
    other = Client()
    other.post(
        reverse("portal:login"),
        {"username": person.primary_email.upper(), "password": "secret-pass-123"},
    )
    assert _signed_in_user_id(other) == str(person.user.pk)


def test_wrong_password_is_refused_with_a_message() -> None:
    person = PersonFactory()
    client = Client()
    response = client.post(
        reverse("portal:login"), {"username": person.user.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert _signed_in_user_id(client) is None


def test_sign_in_link_is_emailed_and_works_once() -> None:
    # Given a registered customer
    person = PersonFactory()
    client = Client()
    # When they ask for a link
    path = _request_link(client, person.primary_email)
    # Then one email with a link arrives, and following it asks to confirm (scanners)
    assert path is not None
    assert mail.outbox[0].to == [person.primary_email]
    assert "15 minutes" in mail.outbox[0].body
    assert client.get(path).status_code == 200
    assert _signed_in_user_id(client) is None
    # When they confirm, they are signed in
    response = client.post(path)
    assert response.status_code == 302
    assert _signed_in_user_id(client) == str(person.user.pk)
    # And the same link does not work a second time
    again = Client()
    response = again.post(path)
    assert response.status_code == 400
    assert "already been used" in response.content.decode()
    assert _signed_in_user_id(again) is None
    assert again.get(path).status_code == 400


def test_unknown_address_gets_the_same_answer_and_no_mail() -> None:
    PersonFactory()
    client = Client()
    assert _request_link(client, "nobody@nowhere.example") is None
    assert mail.outbox == []
    page = client.get(reverse("portal:signin_link_sent"))
    assert "If this address is registered" in page.content.decode()


def test_sign_in_link_expires_after_15_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    person = PersonFactory()
    token = signin_link_token(person=person)
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + 16 * 60)
    response = Client().post(reverse("portal:signin_link_redeem", args=[token]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_tampered_link_is_invalid() -> None:
    person = PersonFactory()
    token = signin_link_token(person=person)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(SignInLinkError):
        signin_link_redeem(token=forged)
    response = Client().post(reverse("portal:signin_link_redeem", args=["abc:def:ghi"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_password_sign_in_in_between_uses_the_link_up() -> None:
    person = PersonFactory()
    token = signin_link_token(person=person)
    Client().post(
        reverse("portal:login"), {"username": person.user.username, "password": "secret-pass-123"}
    )
    with pytest.raises(SignInLinkError):
        signin_link_redeem(token=token)


def test_link_for_a_person_without_an_account_creates_one() -> None:
    # Given a requester known only by email (e.g. registered from an emailed request)
    person = Person.objects.create(full_name="Olga Mail")
    PersonEmail.objects.create(person=person, address="olga@client.example", is_primary=True)
    client = Client()
    path = _request_link(client, "olga@client.example")
    assert path is not None
    # When they use the link
    client.post(path)
    # Then they have an account without a usable password, and are signed in
    person.refresh_from_db()
    assert person.user is not None
    assert not person.user.has_usable_password()
    assert _signed_in_user_id(client) == str(person.user.pk)
    assert Client().post(path).status_code == 400


def test_disabled_account_gets_no_link() -> None:
    person = PersonFactory()
    person.user.is_active = False
    person.user.save()
    assert _request_link(Client(), person.primary_email) is None


def test_sign_out_is_a_post() -> None:
    person = PersonFactory()
    client = Client()
    client.force_login(person.user)
    assert client.get(reverse("portal:logout")).status_code == 405
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login")
    assert _signed_in_user_id(client) is None

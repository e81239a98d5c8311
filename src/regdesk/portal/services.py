"""Customer sign-in by an emailed link.

The link carries a signed, timestamped token naming the person and a fingerprint of their
account's sign-in state (last sign-in instant, password hash). Redeeming it moves
``last_login`` with a conditional UPDATE, which changes the fingerprint: a link works once,
for LINK_LIFETIME, and two concurrent redeems cannot both win. No table of tokens is needed.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from regdesk.directory.models import Person, PersonEmail

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=15)
_SALT = "regdesk.portal.signin-link"


class SignInLinkError(Exception):
    """The link is invalid, expired or already used; ``message`` says which, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _fingerprint(person: Person, user: User | None) -> str:
    if user is None:
        state = f"{person.pk}:no-account"
    else:
        last_login = user.last_login.isoformat() if user.last_login else ""
        state = f"{person.pk}:{user.pk}:{user.password}:{last_login}:{user.is_active}"
    return salted_hmac(_SALT, state).hexdigest()[:24]


def signin_link_token(*, person: Person) -> str:
    """A fresh token for ``person`` (exposed for tests and for the send service)."""
    return signing.dumps({"p": person.pk, "s": _fingerprint(person, person.user)}, salt=_SALT)


def signin_link_send(*, email: str, base_url: str) -> None:
    """Email a sign-in link to the person who registered ``email``, if there is one.

    Says nothing about whether the address is known: the caller shows the same answer either
    way. ``base_url`` is the site's configured public URL (never the request's Host header).
    """
    address = email.strip().lower()
    if not address:
        return
    registered = (
        PersonEmail.objects.select_related("person", "person__user").filter(address=address).first()
    )
    if registered is None:
        return
    person = registered.person
    if person.user is not None and not person.user.is_active:
        return
    token = signin_link_token(person=person)
    link = base_url.rstrip("/") + reverse("portal:signin_link_redeem", args=[token])
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    with translation.override(person.language or translation.get_language()):
        subject = _("Your sign-in link")
        body = render_to_string(
            "portal/email/signin_link.txt",
            {"person": person, "link": link, "minutes": minutes},
        )
    try:
        send_mail(subject, body, None, [address])
    except OSError:
        # A failing mail server must not tell the visitor that the address is known.
        logger.exception("could not send a sign-in link to person %s", person.pk)


def _username_for(address: str, person: Person) -> str:
    candidate = address[:150]
    if not User.objects.filter(username=candidate).exists():
        return candidate
    return f"{address[:120]}-{person.pk}-{secrets.token_hex(3)}"


def _verify(token: str, *, lock: bool) -> tuple[Person, User | None]:
    """The person a valid, unexpired, unused link names (their row locked when ``lock``)."""
    invalid = _("This sign-in link is not valid. Please ask for a new one.")
    try:
        payload = signing.loads(token, salt=_SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        raise SignInLinkError(
            _("This sign-in link has expired. Please ask for a new one.")
        ) from None
    except signing.BadSignature:
        raise SignInLinkError(invalid) from None
    people = Person.objects.select_related("user")
    if lock:
        people = people.select_for_update(of=("self",))
    person = people.filter(pk=payload.get("p")).first() if isinstance(payload, dict) else None
    if person is None:
        raise SignInLinkError(invalid)
    user = person.user
    if _fingerprint(person, user) != payload.get("s"):
        raise SignInLinkError(
            _("This sign-in link has already been used. Please ask for a new one.")
        )
    if user is not None and not user.is_active:
        raise SignInLinkError(_("This account is disabled."))
    return person, user


def signin_link_check(*, token: str) -> None:
    """Raise SignInLinkError when the link cannot be used; uses nothing up."""
    _verify(token, lock=False)


@transaction.atomic
def signin_link_redeem(*, token: str) -> User:
    """The account the link signs in (created for a person who has none); the link is used up.

    Raises SignInLinkError when the link is malformed, expired or was used already.
    """
    person, user = _verify(token, lock=True)
    now = timezone.now()
    if user is None:
        address = person.primary_email
        user = User(username=_username_for(address or f"person-{person.pk}", person), email=address)
        user.first_name = person.full_name[:150]
        user.set_unusable_password()
        user.last_login = now
        user.save()
        person.user = user
        person.save(update_fields=["user"])
        return user
    # Moving last_login changes the link's fingerprint: a second redeem finds it used.
    claimed = User.objects.filter(pk=user.pk, last_login=user.last_login).update(last_login=now)
    if not claimed:
        raise SignInLinkError(
            _("This sign-in link has already been used. Please ask for a new one.")
        )
    user.last_login = now
    return user

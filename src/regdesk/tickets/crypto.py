"""Encryption at rest for secret fields (Fernet, key derived from the site's secret key).

REGDESK_SECRETS_KEY, when set, is used instead of the Django secret key, so the two can be
rotated separately.
"""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet() -> Fernet:
    material = os.environ.get("REGDESK_SECRETS_KEY") or settings.SECRET_KEY
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"regdesk-secrets", info=b"ticket-secrets"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> bytes:
    return _fernet().encrypt(plaintext.encode("utf-8"))


def decrypt(ciphertext: bytes) -> str:
    return _fernet().decrypt(bytes(ciphertext)).decode("utf-8")

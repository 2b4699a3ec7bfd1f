"""Encryption at rest for secrets Hearth must read back (webhook signing secrets).

A secret that only needs checking is hashed (API tokens); a webhook secret is needed in clear to
compute the platform's HMAC, so it is encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Keys:
`HEARTH_ENCRYPTION_KEY` when set, else one derived from SECRET_KEY with HKDF-SHA256. Decryption
tries both, so introducing a dedicated key keeps existing secrets readable."""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"hearth.members.crypto v1: integration secrets"


def _derived_from_secret_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


@cache
def _fernet(dedicated: str, secret_key: str) -> MultiFernet:
    keys = [dedicated.encode()] if dedicated else []
    keys.append(_derived_from_secret_key(secret_key))
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    # Keyed on the settings' values, so tests that override them get the matching keys.
    return _fernet(settings.HEARTH_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str | None:
    """The plaintext, or None when no current key opens it (the key changed): the caller treats
    that as "no usable secret"."""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None

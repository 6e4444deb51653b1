"""Secrets at rest in the service database, sealed with a key derived from the keystore passphrase.

An idempotent admission must be able to replay its answer, API key included, after a crash; but the
idempotency table must not hold that key in plain text. Values marked secret are stored as
`sealed:v1:<nonce>:<ciphertext+tag>` (AES-256-GCM, base64url) and opened only to answer a replay.
The sealing key is scrypt(passphrase, fixed label): whoever reads the database without the passphrase
(a backup, a replica, a DBA) learns nothing of the secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from Crypto.Cipher import AES

_PREFIX = "sealed:v1:"
_LABEL = b"scf-chain/sealed-secrets/v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SealError(ValueError):
    """A sealed value cannot be opened: wrong passphrase, or the stored value was altered."""


class Sealer:
    def __init__(self, passphrase: str) -> None:
        self._key = hashlib.scrypt(passphrase.encode(), salt=_LABEL, n=2**14, r=8, p=1, dklen=32)

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext.encode())
        return f"{_PREFIX}{_b64(nonce)}:{_b64(ciphertext + tag)}"

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise SealError("not a sealed value")
        try:
            nonce_text, body_text = sealed[len(_PREFIX) :].split(":", 1)
            nonce, body = _unb64(nonce_text), _unb64(body_text)
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
            return cipher.decrypt_and_verify(body[:-16], body[-16:]).decode()
        except (ValueError, KeyError) as exc:
            raise SealError("the sealed value cannot be opened (wrong passphrase or altered data)") from exc


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_PREFIX)

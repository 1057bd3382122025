"""Encryption of stored settings: AES-256-GCM with a key id in every ciphertext.

The keys derive (HKDF-SHA256) from ``MEDIANEST_SECRET_KEY``; older secrets
listed in ``MEDIANEST_PREVIOUS_SECRET_KEYS`` (comma-separated) still decrypt,
so ``medianest rotate-key`` can re-encrypt everything under the current key
without downtime.  A ciphertext reads ``v1.<key id>.<base64url(nonce|ct)>``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


class DecryptionError(ValueError):
    """The ciphertext is damaged or was made with a key this installation no longer has."""


def derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"medianest", info=purpose).derive(secret.encode())


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


class Keyring:
    def __init__(self, secret: str, previous: list[str] | None = None) -> None:
        self.current = derive(secret, b"settings-encryption")
        self.current_id = key_id(self.current)
        self.keys = {self.current_id: self.current}
        for old in previous or []:
            if old:
                key = derive(old, b"settings-encryption")
                self.keys.setdefault(key_id(key), key)

    def encrypt(self, plaintext: str, associated: str = "") -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode(), associated.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.current_id}.{blob}"

    def decrypt(self, token: str, associated: str = "") -> str:
        try:
            version, kid, blob = token.split(".", 2)
        except ValueError:
            raise DecryptionError("not a MediaNest ciphertext") from None
        if version != VERSION:
            raise DecryptionError(f"unknown ciphertext version {version}")
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError(f"key {kid} is not configured (add the old secret to MEDIANEST_PREVIOUS_SECRET_KEYS)")
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], associated.encode()).decode()
        except Exception:
            raise DecryptionError("ciphertext failed authentication") from None

    def needs_rotation(self, token: str) -> bool:
        return token.split(".", 2)[1:2] != [self.current_id]


def instance_secret(data_dir: Path) -> str:
    """The embedded mode's generated secret, created on first start (mode 0600)."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret

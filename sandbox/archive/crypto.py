"""Chat archive encryption: a fresh key per message, RSA-wrapped, and the sandbox's documented symmetric scheme.

The real SDK's symmetric step (DecryptData) is private, so the sandbox defines its own, documented in
docs/SANDBOX.md: AES-256-CBC, key = the 32 ASCII bytes of the random key, IV = its first 16 bytes, PKCS#7 padding
to 16-byte blocks, standard base64. The random key itself is wrapped exactly as WeCom does it (WECOM.md §2c):
base64(RSA PKCS#1 v1.5 encrypt(key)) with the configured 2048-bit public key.
"""

from __future__ import annotations

import base64
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

RSA_BITS: Final = 2048
RANDOM_KEY_LENGTH: Final = 32
PUBLIC_KEY_FILE: Final = "archive_public.pem"
PRIVATE_KEY_FILE: Final = "archive_private.pem"
_KEY_ALPHABET: Final = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Sealed:
    """The two encrypted fields of one chatdata item."""

    encrypt_random_key: str
    encrypt_chat_msg: str


@dataclass(frozen=True, slots=True)
class KeyPairFiles:
    public: Path
    private: Path


def load_archive_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """The admin console takes a 2048-bit RSA public key (WECOM.md §2c); anything else is refused."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("expected a PEM-encoded RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("expected an RSA public key")
    if key.key_size != RSA_BITS:
        raise ValueError(f"expected a {RSA_BITS}-bit RSA key, got {key.key_size} bits")
    return key


def random_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(RANDOM_KEY_LENGTH))


def wrap_key(key: str, public_key: rsa.RSAPublicKey) -> str:
    return base64.b64encode(public_key.encrypt(key.encode("ascii"), PKCS1v15())).decode("ascii")


def encrypt_chat_msg(plaintext: str, key: str) -> str:
    raw_key = key.encode("ascii")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(raw_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def seal(plaintext: str, public_key: rsa.RSAPublicKey) -> Sealed:
    key = random_key()
    return Sealed(wrap_key(key, public_key), encrypt_chat_msg(plaintext, key))


def generate_keypair() -> tuple[bytes, bytes]:
    """(public PEM, private PEM). CPU-heavy (tens of ms): callers on an event loop run it in a thread.

    The private key is PKCS#1 ("BEGIN RSA PRIVATE KEY"), what `openssl genrsa` writes and what the SDK's own
    samples load; the public key is SubjectPublicKeyInfo, what the admin console accepts.
    """
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public_pem, private_pem


def write_keypair(directory: Path, overwrite: bool = False) -> KeyPairFiles:
    """Write archive_public.pem and archive_private.pem (mode 0600); `qunke demo` calls this on first run."""
    files = KeyPairFiles(directory / PUBLIC_KEY_FILE, directory / PRIVATE_KEY_FILE)
    if not overwrite:
        for path in (files.public, files.private):
            if path.exists():
                raise FileExistsError(f"{path} already exists")
    public_pem, private_pem = generate_keypair()
    directory.mkdir(parents=True, exist_ok=True)
    _write(files.private, private_pem, 0o600)
    _write(files.public, public_pem, 0o644)
    return files


def _write(path: Path, data: bytes, mode: int) -> None:
    # The mode is set at creation, so the private key is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)

"""Ed25519 signatures of certificates (PDF and DCC).

Each signatory has a key pair. The public key is in the register (with its
key id); the private key is a PEM file the signatory keeps (by default in
the user's own data folder, never in the register), optionally protected by
a passphrase. A certificate carries its signature, the id of the key that
made it, the certificate number and the run file's SHA-256; `calstation
verify` finds the public key by its id in the register (or in a public key
file the lab publishes) and checks the signature over the exact bytes it
covers.

    signature block (text, one line):
    calstation-signature/1 alg=ed25519 key=<key id> sig=<base64, 64 bytes>

The key id is the first 16 hex digits of SHA-256 of the raw 32-byte public
key, so a key is named the same wherever it is printed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import CalstationError

ALGORITHM = "ed25519"
SIGNATURE_BYTES = 64
#: Length of the signature block's text, fixed so that a placeholder of the
#: same length can be reserved in a document before it is signed.
BLOCK_TAG = "calstation-signature/1"
_BLOCK = re.compile(
    rb"calstation-signature/1 alg=(?P<alg>[a-z0-9]+) key=(?P<key>[0-9a-f]{16}) sig=(?P<sig>[A-Za-z0-9+/=]{88})"
)


class SigningError(CalstationError):
    """A key cannot be made, read or used; the message says which and what to do."""


@dataclass(frozen=True)
class Signer:
    """Who signs, and the private key they sign with."""

    user: str  # register user name
    full_name: str
    key: Ed25519PrivateKey

    @property
    def public(self) -> str:
        return public_text(self.key.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def block(self, data: bytes) -> str:
        """The signature block over ``data`` (see the module's docstring)."""
        return signature_block(self.key_id, self.sign(data))


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: what the register stores."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key(text: str, what: str = "public key") -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise SigningError(f"{what} is not an Ed25519 public key (base64 of 32 bytes); "
                           "take it from `calstation register user show`") from None


def key_id(public: str) -> str:
    raw = base64.b64decode(public)
    return hashlib.sha256(raw).hexdigest()[:16]


def save_private_key(key: Ed25519PrivateKey, path: Path, passphrase: str | None = None) -> Path:
    """Write ``key`` as PKCS#8 PEM, readable by its owner only (where the
    system has such permissions). Refuses to overwrite an existing key."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
        else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningError(f"{path}: a key file is already there; move it away or give another "
                           "path") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


def save_public_key(public: str, path: Path) -> Path:
    """A public key file a lab can publish: `calstation verify --key FILE`."""
    path.write_text(f"{BLOCK_TAG.split('/')[0]}-public-key ed25519 {public}\n", encoding="ascii")
    return path


def load_public_key_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError) as e:
        raise SigningError(f"{path}: cannot read the public key file ({e}); check the path") from None
    if len(text) != 3 or text[1] != ALGORITHM:
        raise SigningError(f"{path}: not a calstation public key file; export it with "
                           "`calstation register user show NAME --public-key FILE`")
    public_key(text[2], f"{path}")
    return text[2]


def load_private_key(path: Path, passphrase: str | None = None) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{path}: no such key file; give the signatory's key with --key") from None
    except OSError as e:
        raise SigningError(f"{path}: cannot read the key file ({e.strerror or e}); check its "
                           "permissions") from None
    try:
        key = serialization.load_pem_private_key(
            data, passphrase.encode("utf-8") if passphrase else None)
    except TypeError:
        raise SigningError(f"{path}: the key is protected by a passphrase; give it in "
                           "CALSTATION_KEY_PASSPHRASE") from None
    except ValueError:
        raise SigningError(f"{path}: not a readable private key, or a wrong passphrase") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 key; make one with "
                           "`calstation register user add NAME --role signatory`")
    return key


def signature_block(kid: str, signature: bytes) -> str:
    return f"{BLOCK_TAG} alg={ALGORITHM} key={kid} sig={base64.b64encode(signature).decode('ascii')}"


#: Length of every signature block (the placeholder a document reserves).
BLOCK_LENGTH = len(signature_block("0" * 16, b"\0" * SIGNATURE_BYTES))


def placeholder() -> str:
    """Text of `BLOCK_LENGTH` characters to reserve before signing."""
    return "calstation-signature/0 " + "0" * (BLOCK_LENGTH - len("calstation-signature/0 "))


@dataclass(frozen=True)
class Block:
    key_id: str
    signature: bytes


def parse_block(data: bytes) -> Block | None:
    m = _BLOCK.fullmatch(data.strip())
    if not m or m["alg"] != ALGORITHM.encode():
        return None
    return Block(m["key"].decode(), base64.b64decode(m["sig"]))


def check(public: str, signature: bytes, data: bytes) -> bool:
    try:
        public_key(public).verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class SignedDocument:
    """What a certificate (PDF or DCC) says about itself, as its reader
    finds it: the certificate number, the run file's SHA-256, the signature
    block (None when the document carries none) and the exact bytes the
    signature covers."""

    kind: str  # "pdf" or "dcc"
    number: str
    run_sha256: str
    block: Block | None
    signed: bytes

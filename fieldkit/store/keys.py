"""The key hierarchy of a station (DESIGN.md 3).

passphrase -> Argon2id (calibrated, parameters and salt stored) -> key-encryption key -> unwraps
(AES-256-GCM) a random 256-bit data key -> ``PRAGMA key = "x'<hex>'"``.

The wrapped data key and the KDF parameters live in a small JSON sidecar next to the store. The
sidecar's header (format, KDF parameters, salt) is bound to the ciphertext as associated data, so
tampering with any of it is detected just like a wrong passphrase would be: both fail the GCM tag.
We tell the two apart only by whether the sidecar parses; a wrong passphrase and a tampered
ciphertext are indistinguishable by design, and the message says so honestly.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from fieldkit.errors import StoreDamaged, StoreMissing, ValidationError, WrongPassphrase
from fieldkit.i18n import _

FORMAT = "fieldkit-keys-1"
DATA_KEY_BYTES = 32
MIN_PASSPHRASE = 8
MAX_PASSPHRASE = 1024
MAX_SIDECAR_BYTES = 64 * 1024


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters; memory in KiB."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 2

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        kdf = Argon2id(
            salt=salt,
            length=32,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        )
        return kdf.derive(passphrase.encode("utf-8"))

    def check(self) -> None:
        """Refuse parameters a hostile sidecar could use to exhaust memory or time."""
        if not (8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024):
            raise ValueError("memory")
        if not (1 <= self.iterations <= 64) or not (1 <= self.lanes <= 16):
            raise ValueError("iterations")


def fast_params_for_tests() -> KdfParams:
    """Cheap parameters, used only when FIELDKIT_KDF=fast (tests, demo)."""
    return KdfParams(memory_kib=1024, iterations=1, lanes=1)


def calibrate(target_seconds: float = 0.4) -> KdfParams:
    """Pick Argon2id parameters taking about ``target_seconds`` on this device."""
    if os.environ.get("FIELDKIT_KDF") == "fast":
        return fast_params_for_tests()
    params = KdfParams(memory_kib=65536, iterations=1, lanes=2)
    salt = os.urandom(16)
    started = time.perf_counter()
    params.derive("calibration", salt)
    one = max(time.perf_counter() - started, 1e-3)
    iterations = max(1, min(10, round(target_seconds / one)))
    return KdfParams(memory_kib=params.memory_kib, iterations=iterations, lanes=params.lanes)


def validate_new_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(
            _("The passphrase must have at least {n} characters.").format(n=MIN_PASSPHRASE),
            field="passphrase",
        )
    if len(passphrase) > MAX_PASSPHRASE:
        raise ValidationError(
            _("The passphrase is too long (at most {n} characters).").format(n=MAX_PASSPHRASE),
            field="passphrase",
        )
    return passphrase


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _header(params: KdfParams, salt: bytes) -> dict[str, object]:
    return {"format": FORMAT, "kdf": "argon2id", "params": asdict(params), "salt": _b64(salt)}


def _aad(header: dict[str, object]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _write_atomic(path: Path, document: dict[str, object]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(document, indent=2, sort_keys=True).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _wrap(path: Path, passphrase: str, data_key: bytes, params: KdfParams) -> None:
    salt = os.urandom(16)
    header = _header(params, salt)
    kek = params.derive(passphrase, salt)
    nonce = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, _aad(header))
    _write_atomic(path, {**header, "nonce": _b64(nonce), "wrapped_key": _b64(wrapped)})


def create_keyfile(path: Path, passphrase: str, params: KdfParams | None = None) -> bytes:
    """Create a new random data key, wrap it under ``passphrase`` in ``path``; return the key."""
    validate_new_passphrase(passphrase)
    data_key = os.urandom(DATA_KEY_BYTES)
    _wrap(path, passphrase, data_key, params or calibrate())
    return data_key


def _damaged() -> StoreDamaged:
    return StoreDamaged(_("The key file of this station is damaged and cannot be read."))


def _read(path: Path) -> tuple[dict[str, object], KdfParams, bytes, bytes, bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreMissing(
            _("No key file at {path}: create the station with 'fieldkit init'.").format(path=path)
        ) from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise _damaged()
    try:
        doc = json.loads(raw)
        header = {k: doc[k] for k in ("format", "kdf", "params", "salt")}
        if header["format"] != FORMAT or header["kdf"] != "argon2id":
            raise ValueError("format")
        p = header["params"]
        params = KdfParams(
            memory_kib=int(p["memory_kib"]), iterations=int(p["iterations"]), lanes=int(p["lanes"])
        )
        params.check()
        salt = base64.b64decode(header["salt"], validate=True)
        nonce = base64.b64decode(doc["nonce"], validate=True)
        wrapped = base64.b64decode(doc["wrapped_key"], validate=True)
        if len(salt) < 8 or len(nonce) != 12 or len(wrapped) != DATA_KEY_BYTES + 16:
            raise ValueError("sizes")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _damaged() from None
    return header, params, salt, nonce, wrapped


def unlock_keyfile(path: Path, passphrase: str) -> bytes:
    """Return the data key, or raise WrongPassphrase / StoreMissing / StoreDamaged."""
    header, params, salt, nonce, wrapped = _read(path)
    kek = params.derive(passphrase, salt)
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, _aad(header))
    except InvalidTag:
        raise WrongPassphrase(
            _("Wrong passphrase (or the key file was altered): the station stays locked.")
        ) from None


def change_passphrase(path: Path, old: str, new: str) -> None:
    """Rewrap the data key under ``new``; the store itself is untouched."""
    validate_new_passphrase(new)
    data_key = unlock_keyfile(path, old)
    _wrap(path, new, data_key, calibrate())

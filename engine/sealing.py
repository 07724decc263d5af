"""Personal data sealed at rest (PIPL): a copy of the database file, a backup or a
`pg_dump` alone reveals no child's ID number, phone, bank card or hardship category,
and no evidence file.

Each value is sealed with AES-GCM under a key kept outside the database (the key
file, `aidcal key init`), with associated data naming its column and its row, so a
sealed value copied into another row or column does not open. A token carries the id
of the key that sealed it: after `key rotate` old and new tokens open alike while the
database is resealed. ID numbers are also kept as a keyed hash (HMAC, a key of its
own that never rotates, since every stored hash depends on it): duplicates and
look-ups compare hashes, never numbers. What people see are the masked forms, stored
beside the sealed value so a list never needs to open one.

The database records which keys sealed it (`seal_key`: ids and fingerprints, never a
key), so a wrong key file is refused before it writes values nobody could open, or
hashes that match nothing.
"""
from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import exists, select
from sqlalchemy.engine import Connection

from aidcal.i18n import _

from . import store
from .errors import InputError
from .models import aid_case, evidence_blob, identification, seal_key

FORMAT = "aidcal-keys/1"
CHECK = b"aidcal key check"  # what a fingerprint is the MAC of: it proves a key without revealing it
BLOCK = 32  # text is padded to a multiple of this before sealing: a token's length must not tell 孤儿 from 城市低保
KEY_ID = re.compile(r"^k[0-9a-f]{8}$")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode()  # one C call: a million cases seal three values each


def _unb64(text: str) -> bytes:
    return binascii.a2b_base64(text)


def fingerprint(key: bytes) -> str:
    return hmac.new(key, CHECK, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Keys:
    """The key file's contents: the sealing keys by id (the current one seals, every one
    opens: retired keys stay so that older backups still open) and the hashing key."""
    current: str
    sealing: dict[str, bytes]
    hashing: bytes
    _ciphers: dict = field(default_factory=dict, compare=False, repr=False)

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            if kid not in self.sealing:
                raise InputError(_("a value in the database was sealed with key {kid}, which the key file does not hold; "
                                   "use the key file that sealed it (AIDCAL_KEY_FILE)").format(kid=kid))
            cipher = self._ciphers[kid] = AESGCM(self.sealing[kid])
        return cipher

    def seal(self, value: str, column: str, row: str) -> str:
        """`kid.base64(nonce ‖ ciphertext)` of the value padded with NULs (which no checked text
        holds) to a multiple of BLOCK bytes; an empty value stays empty (it reveals nothing, and
        guards test for it)."""
        if not value:
            return ""
        data = value.encode()
        data += b"\0" * (-len(data) % BLOCK)
        nonce = os.urandom(12)
        sealed = self._cipher(self.current).encrypt(nonce, data, f"{column}\x1f{row}".encode())
        return f"{self.current}.{_b64(nonce + sealed)}"

    def unseal(self, token: str, column: str, row: str) -> str:
        if not token:
            return ""
        if not isinstance(token, str):  # a value put there outside aidcal
            token = ""
        kid, _dot, body = token.partition(".")
        try:
            opened = _unb64(body)
        except ValueError:  # binascii.Error: not what seal() wrote
            opened = b""
        return self._open(kid, opened, column, row).rstrip(b"\0").decode()

    def seal_bytes(self, data: bytes, column: str, row: str) -> bytes:
        nonce = os.urandom(12)
        return self.current.encode() + b"." + nonce + self._cipher(self.current).encrypt(nonce, data, f"{column}\x1f{row}".encode())

    def unseal_bytes(self, data: bytes, column: str, row: str) -> bytes:
        kid, _dot, body = (bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b"").partition(b".")
        return self._open(kid.decode("ascii", "replace"), body, column, row)

    def _open(self, kid: str, body: bytes, column: str, row: str) -> bytes:
        try:
            return self._cipher(kid).decrypt(body[:12], body[12:], f"{column}\x1f{row}".encode())
        except (InvalidTag, ValueError):
            raise InputError(_("a sealed value of {column} does not open: it was altered, or moved from another row, "
                               "outside aidcal").format(column=column.split(".")[0])) from None

    def person(self, id_number: str) -> str:
        """The keyed hash of an ID number: equal for equal numbers, useless without the key."""
        return hmac.digest(self.hashing, id_number.upper().encode(), "sha256")[:16].hex()


def case_row(programme: str, term: str, person: str) -> str:
    """What ties a case's sealed values to it: one person's case of a programme and term."""
    return f"aid_case|{programme}|{term}|{person}"


def identification_row(year: int, person: str) -> str:
    return f"identification|{year}|{person}"


def blob_row(sha256: str) -> str:
    return f"evidence_blob|{sha256}"


# ── the key file ──────────────────────────────────────────────────────────────

def new_keys() -> Keys:
    kid = "k" + secrets.token_hex(4)
    return Keys(kid, {kid: AESGCM.generate_key(bit_length=256)}, secrets.token_bytes(32))


def rotated(keys: Keys) -> Keys:
    """The same file with a new current sealing key; the others stay, to open what they sealed."""
    kid = "k" + secrets.token_hex(4)
    while kid in keys.sealing:
        kid = "k" + secrets.token_hex(4)
    return Keys(kid, {**keys.sealing, kid: AESGCM.generate_key(bit_length=256)}, keys.hashing)


def write(path: str | os.PathLike, keys: Keys, *, new: bool) -> None:
    """Written mode 0600 before a byte of key is in it; replaced atomically on rotation, so a
    failure leaves the old file whole: where a link points, with the old file's owner (the
    server's user must still read it), the folder synced so the rename survives a power cut."""
    path = Path(path)
    owner = None
    if not new and path.exists():
        path = path.resolve()
        owner = path.stat()
    if new and path.exists():
        raise InputError(_("{file} exists: a key file is never overwritten (its keys open the database); "
                           "rotate it with aidcal key rotate").format(file=path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if owner is not None and os.geteuid() == 0:
            os.fchown(descriptor, owner.st_uid, owner.st_gid)
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "current": keys.current,
                       "sealing": {kid: _b64(key) for kid, key in keys.sealing.items()},
                       "hashing": _b64(keys.hashing)}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if new:
            os.link(temporary, path)  # fails if another process created it meanwhile
        else:
            os.replace(temporary, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    finally:
        if temporary.exists():
            temporary.unlink()


def read(path: str | os.PathLike) -> Keys:
    """The key file, refused when others may read it (as ssh refuses a private key)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(_("key file {file} does not exist; create it with aidcal key init (and keep a copy apart "
                           "from the database's backups)").format(file=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("key file {file} cannot be read: {why}").format(file=path, why=exc.__class__.__name__)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(_("key file {file} may be read by others (mode {mode:o}); make it the owner's only: "
                           "chmod 600 {file}").format(file=path, mode=stat.S_IMODE(mode)))
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError
        keys = Keys(data["current"], {k: _unb64(v) for k, v in data["sealing"].items()}, _unb64(data["hashing"]))
        if (keys.current not in keys.sealing or len(keys.hashing) != 32 or any(len(k) != 32 for k in keys.sealing.values())
                or not all(KEY_ID.match(kid) for kid in keys.sealing)):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(_("{file} is not a key file aidcal wrote").format(file=path)) from None
    return keys


# ── the database's side ───────────────────────────────────────────────────────

def holds_clear(conn: Connection) -> bool:
    """Personal data written before sealing (a database from before 0011)."""
    return any(conn.execute(select(exists().select_from(t))).scalar() for t in (aid_case, identification, evidence_blob))


def is_sealed(conn: Connection) -> bool:
    return conn.execute(select(exists().select_from(seal_key))).scalar()


def bind(conn: Connection, keys: Keys | None, register: bool = True) -> Keys:
    """The keys to seal and open this database's personal data with, checked against the
    fingerprints it keeps; a new database takes them on the first write (`register`: a
    reader never writes). Refused: no key file, a key file of another database, or a
    database whose personal data is still in clear."""
    if keys is None:
        raise InputError(_("personal data is sealed with a key kept outside the database: set AIDCAL_KEY_FILE to the "
                           "bureau's key file (created once by aidcal key init)"))
    known = {r.key_id: r for r in conn.execute(select(seal_key))}
    if not known:
        if holds_clear(conn):
            raise InputError(_("this database holds personal data in clear, from before sealing; the operator seals it "
                               "once with aidcal key encrypt-existing"))
        if register:
            record_keys(conn, keys)
        return keys
    hashing = known.get("hashing")
    if hashing is None or hashing.fingerprint != fingerprint(keys.hashing):
        raise InputError(_("the key file is not this database's (its hashing key differs); set AIDCAL_KEY_FILE to the "
                           "key file that sealed it"))
    for kid, row in known.items():
        if kid != "hashing" and row.retired_at is None and (kid not in keys.sealing or fingerprint(keys.sealing[kid]) != row.fingerprint):
            raise InputError(_("key {kid}, which sealed this database, is not in the key file (or differs); set "
                               "AIDCAL_KEY_FILE to the key file that sealed it").format(kid=kid))
    if keys.current not in known and register:
        record_keys(conn, keys, hashing=False)
    return keys


def record_keys(conn: Connection, keys: Keys, hashing: bool = True) -> None:
    stamp = store.now()
    rows = [dict(key_id=keys.current, purpose="sealing", fingerprint=fingerprint(keys.sealing[keys.current]), added_at=stamp)]
    if hashing:
        rows.append(dict(key_id="hashing", purpose="hashing", fingerprint=fingerprint(keys.hashing), added_at=stamp))
    conn.execute(seal_key.insert(), rows)

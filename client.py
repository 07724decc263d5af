"""The CLI as a client of the bureau's server: a school's or supervisor's own machine holds
no database, only a server address and a token.

Standard library only (no SQLAlchemy, no SQLModel, no HTTP package), so a remote command
starts as fast as Python does. The token comes from AIDCAL_SERVER/AIDCAL_TOKEN, else from
the per-user credentials file `aidcal login` writes (mode 0600). Plain http is refused
except to a loopback address: a token must never cross a network in clear.
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from aidcal.engine.errors import InputError, Refused
from aidcal.i18n import _, language

TIMEOUT = 120  # seconds: longer than the server's own request limit, so the server's answer arrives


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "aidcal" / "credentials.json"


def check_address(url: str) -> str:
    """A server address the token may travel to: https, or http to this machine only."""
    url = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(_("--server '{url}' is not an address like https://aid.example.gov.cn").format(url=url[:80]))
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InputError(_("--server {url}: plain http would send the token in clear; use https "
                           "(http only to this machine: 127.0.0.1 or localhost)").format(url=url[:80]))
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Remote:
    url: str
    token: str
    ca_file: str | None = None
    years_without_notice: set[int] = field(default_factory=set, compare=False)  # as the server said (the shell warns)

    def call(self, name: str, params: dict):
        """One act on the server; its refusals and errors arrive as this process's own."""
        body = json.dumps({"params": params}, ensure_ascii=False, default=str).encode()
        request = urllib.request.Request(f"{self.url}/api/{name}", data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "X-Aidcal-Lang": language()})
        context = ssl.create_default_context(cafile=self.ca_file) if self.url.startswith("https") else None
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
                unnoticed = response.headers.get("X-Aidcal-Years-Without-Notice", "")  # server.py UNNOTICED
                self.years_without_notice.update(int(y) for y in unnoticed.split(",") if y.isdigit())
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            _raise(exc)
        except (urllib.error.URLError, OSError) as exc:
            raise InputError(_("the server {url} cannot be reached: {reason}").format(
                url=self.url, reason=_unreachable(getattr(exc, "reason", exc)))) from None


def _unreachable(reason) -> str:
    """Why a server did not answer, in the user's language where the cause is a common one."""
    if isinstance(reason, ConnectionRefusedError):
        return _("nothing answers at that address (is aidcal serve running there?)")
    if isinstance(reason, TimeoutError):
        return _("no answer within {seconds} seconds").format(seconds=TIMEOUT)
    if isinstance(reason, socket.gaierror):
        return _("the host name is not known")
    return str(reason)


def _raise(exc: urllib.error.HTTPError):
    try:
        answer = json.loads(exc.read() or b"{}")
    except ValueError:
        answer = {}
    problems = answer.get("problems") or [answer.get("detail") or f"HTTP {exc.code}"]
    if exc.code in (401, 403, 429):
        raise Refused(str(problems[0])) from None
    raise InputError([str(p) for p in problems]) from None


def configured(ca_file: str | None = None) -> Remote | None:
    """The server this user's commands go to, if any."""
    url, token = os.environ.get("AIDCAL_SERVER"), os.environ.get("AIDCAL_TOKEN")
    if url:
        if not token:
            raise InputError(_("AIDCAL_SERVER is set but AIDCAL_TOKEN is not; log in with: aidcal login --server URL"))
        return Remote(check_address(url), token.strip(), ca_file or os.environ.get("AIDCAL_CA_FILE"))
    if token:
        raise InputError(_("AIDCAL_TOKEN is set but AIDCAL_SERVER is not; set AIDCAL_SERVER to the bureau's server "
                           "(https://…), or log in with: aidcal login --server URL"))
    path = credentials_path()
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return Remote(check_address(saved["server"]), saved["token"], saved.get("ca_file"))
    except (ValueError, KeyError, TypeError):
        raise InputError(_("{file} is not a credentials file aidcal wrote; log in again with: aidcal login --server URL")
                         .format(file=path)) from None


def save(url: str, token: str, ca_file: str | None) -> Path:
    """Keep the server and token for this user only (0600, written before anything is in it)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        json.dump({"server": url, "token": token, "ca_file": ca_file}, f)
    return path

"""Sending one rendered message over one channel. A transport raises
DeliveryError when the channel refused or could not be reached; WeCom and
DingTalk robots answer HTTP 200 with a non-zero errcode when they refuse."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import urllib.parse
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from aidcal.engine.errors import DeliveryError
from aidcal.i18n import _

TIMEOUT = 8  # seconds for a connection and for each answer: a hanging peer must not stall the night


def send(kind: str, settings: dict, *, to: str, subject: str, body: str, msgid: str, now: datetime) -> None:
    """Send one message; `now` is the moment of sending (DingTalk signs it)."""
    try:
        {"email": _email, "wecom": _wecom, "dingtalk": _dingtalk}[kind](settings, to, subject, body, msgid, now)
    except DeliveryError:
        raise
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, ValueError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
    except (OSError, smtplib.SMTPException) as exc:  # refused, unreachable, or hanging past TIMEOUT
        raise DeliveryError(f"{type(exc).__name__}: {exc}", unreachable=True) from None


def _email(settings, to, subject, body, msgid, now):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings["sender"], to, subject
    message["Message-ID"] = msgid  # stable: a resend after a crash is recognisable
    message["Date"] = format_datetime(now)
    message.set_content(body)
    with smtplib.SMTP(settings["smtp_host"], int(settings.get("smtp_port", 25)), timeout=TIMEOUT) as smtp:
        if settings.get("starttls"):
            smtp.starttls()
        if settings.get("username"):
            smtp.login(settings["username"], settings.get("password", ""))
        smtp.send_message(message)


def _post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        answer = json.loads(response.read() or b"{}")
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(_("robot refused: errcode {code}: {message}").format(code=answer.get("errcode"), message=answer.get("errmsg", "")))


def _wecom(settings, _to, subject, body, _msgid, _now):
    _post_json(settings["url"], {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{body}"}})


def _dingtalk(settings, _to, subject, body, _msgid, now):
    url = settings["url"]
    secret = settings.get("secret", "")
    if secret:  # 加签: timestamp + HMAC-SHA256 of "timestamp\nsecret", base64, URL-encoded
        stamp = str(round(now.timestamp() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        url += f"&timestamp={stamp}&sign={urllib.parse.quote_plus(base64.b64encode(digest))}"
    keyword = settings.get("keyword", "")
    text = f"{keyword} {subject}\n\n{body}" if keyword and keyword not in subject + body else f"{subject}\n\n{body}"
    _post_json(url, {"msgtype": "markdown", "markdown": {"title": subject, "text": text}})

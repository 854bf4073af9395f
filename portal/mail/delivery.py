"""Hand a rendered mail to SMTP, or (no MAIL_SERVER, development) to a file and the log."""

import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)


def build_message(payload):
    message = EmailMessage()
    message["From"] = payload["from"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="tynda.kz")
    for name, value in (payload.get("headers") or {}).items():
        message[name] = value
    message.set_content(payload["body"], charset="utf-8")
    return message


def deliver(payload, config, instance_path):
    """Send one mail; raises on SMTP failure so the job is marked failed and can be retried."""
    message = build_message(payload)
    server = config.get("MAIL_SERVER")
    if not server:
        return _write_to_folder(message, Path(config.get("MAIL_FOLDER") or instance_path) / "mail")
    port = int(config.get("MAIL_PORT") or (587 if config.get("MAIL_USE_TLS") else 25))
    with smtplib.SMTP(server, port, timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return {"to": payload["to"], "via": "smtp"}


def _write_to_folder(message, folder):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}.eml"
    path.write_bytes(message.as_bytes())
    log.warning("No MAIL_SERVER: mail to %s written to %s", message["To"], path)
    print(f"--- mail to {message['To']}: {message['Subject']} ({path})")
    return {"to": str(message["To"]), "via": "file", "path": str(path)}

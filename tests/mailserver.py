"""A real SMTP server for the tests (aiosmtpd on a free loopback port) and its inbox."""

import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the server received, parsed; the handler aiosmtpd calls for every message."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address):
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address, count=1, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address} within {timeout}s")


def body(message):
    return message.get_body(("plain",)).get_content()


def link(message, path_part):
    """The first link in the mail's body whose path contains `path_part`."""
    match = re.search(r"https?://\S*" + re.escape(path_part) + r"\S*", body(message))
    assert match, f"no {path_part} link in: {body(message)}"
    return match.group(0)


class SMTPServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

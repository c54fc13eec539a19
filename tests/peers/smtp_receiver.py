"""A local SMTP server (aiosmtpd) that keeps every message it receives, for paaf's tests.

It offers STARTTLS with the certificate given, requires it before AUTH, and requires AUTH
(PLAIN or LOGIN with the user and password given) before MAIL: a client that skips either
is refused, as a real submission server (port 587) does. Each message is written to
OUT/NNNN.eml, with OUT/NNNN.json beside it: the envelope and whether the session was
encrypted and logged in.

Usage: smtp_receiver.py PORT CERT KEY OUT   (user and password from SMTP_USER, SMTP_PASSWORD)
Runs until SIGTERM.
"""

import json
import os
import pathlib
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keeper:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "login": getattr(session.auth_data, "login", b"").decode("utf-8", "replace")
            if session.auth_data is not None
            else None,
        }
        base = self.out / f"{n:04d}"
        # The .json last: a reader that sees it finds the message whole.
        base.with_suffix(".eml").write_bytes(envelope.original_content or envelope.content)
        tmp = base.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        tmp.rename(base.with_suffix(".json"))
        return "250 OK"


def main() -> None:
    port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])
    user = os.environ["SMTP_USER"].encode()
    password = os.environ["SMTP_PASSWORD"].encode()
    out.mkdir(parents=True, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        )
        # auth_data handed back so the session keeps who logged in (the test reads it).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Keeper(out),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A mail server on this machine for the demo and the tests (aiosmtpd, from the venv).

Takes every message sent to 127.0.0.1:PORT and keeps it under DIR:
  N.eml   the message as received;
  N/      its attachments, decoded;
  N.json  Message-ID, From, To, Subject, the beredd job, the text and the attachment names
          (written last, so a reader that sees it sees the rest).
Prints one line per message. Stops on Ctrl-C or SIGTERM.

    python scripts/mailbox.py --port 2525 --dir demo-data/mailbox
"""
import argparse
import email
import json
import os
import pathlib
import signal
import threading
from email import policy

from aiosmtpd.controller import Controller


class Keeper:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.lock = threading.Lock()
        self.n = len(list(out.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        raw = envelope.original_content or envelope.content
        (self.out / f"{n}.eml").write_bytes(raw)
        msg = email.message_from_bytes(raw, policy=policy.default)
        parts = self.out / str(n)
        parts.mkdir(exist_ok=True)
        attachments, text = [], ""
        for part in msg.walk():
            if part.is_multipart():
                continue
            name = part.get_filename()
            if name:
                safe = pathlib.Path(name).name
                (parts / safe).write_bytes(part.get_payload(decode=True))
                attachments.append({"name": safe, "content_type": part.get_content_type()})
            elif part.get_content_type() == "text/plain" and not text:
                text = part.get_content()
        summary = {
            "n": n,
            "message_id": msg["Message-ID"],
            "from": msg["From"],
            "to": list(envelope.rcpt_tos),
            "subject": msg["Subject"],
            "job": msg["X-Beredd-Job"],
            "list_unsubscribe": msg["List-Unsubscribe"],
            "text": text,
            "attachments": attachments,
        }
        tmp = self.out / f".{n}.json"
        tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
        os.replace(tmp, self.out / f"{n}.json")
        print(f"mail {n}: {msg['Message-ID']} to {', '.join(envelope.rcpt_tos)}: {msg['Subject']}"
              f" ({len(attachments)} attachments, kept in {parts})", flush=True)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--dir", default="mailbox")
    a = p.parse_args()
    out = pathlib.Path(a.dir)
    out.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keeper(out), hostname="127.0.0.1", port=a.port)
    controller.start()
    print(f"mailbox listening on 127.0.0.1:{a.port}, keeping mail in {out}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

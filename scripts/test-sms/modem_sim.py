#!/usr/bin/env python3
"""A GSM modem on a pseudo-terminal, for the SMS tests: it answers AT commands the way a real
modem does (3GPP TS 27.007/27.005, PDU mode) so that beredd's modem route talks to it exactly as
to a USB modem with a SIM card.

    modem_sim.py --link /tmp/x/ttyGSM0 --record /tmp/x/pdus.txt [--pin 1234] [--fail 1]
                 [--unregistered] [--inbox /tmp/x/inbox.txt]

It makes a pty pair, links `--link` to the terminal side (the "device" a node opens), and
answers on the other side: AT, ATE0/ATE1 (echo), AT+CPIN? (READY, or SIM PIN until
AT+CPIN="<pin>"), AT+CMGF=0|1, AT+CREG? (registered, or searching with --unregistered), AT+CSQ,
AT+CMGS=<length>: the "> " prompt, then hex up to Ctrl-Z (Escape cancels), checked against the
length, recorded as one line of hex in --record, and answered "+CMGS: <reference>" and OK — or
"+CMS ERROR: 38" (network out of order) for the first --fail sends. Texts "received": each new
line "<international number>|<text>" appended to --inbox is stored on the "SIM" as an
SMS-DELIVER PDU (GSM 7-bit), listed by AT+CMGL=4 and removed by AT+CMGD=<index>. Anything else:
ERROR.
Stops on SIGTERM. Standard library only.
"""

import argparse
import os
import signal
import sys
import tty


def deliver_pdu(number, text):
    """An SMS-DELIVER PDU (no service centre address) from an international number, GSM 7-bit
    (ASCII letters, digits and space, which the GSM alphabet has at the same codes)."""
    digits = number.lstrip("+")
    semi = digits + ("F" if len(digits) % 2 else "")
    address = "".join(semi[i + 1] + semi[i] for i in range(0, len(semi), 2))
    bits, acc, out = 0, 0, bytearray()
    for ch in text:
        acc |= (ord(ch) & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return ("00" + "04" + f"{len(digits):02X}" + "91" + address + "00" + "00" + "62216021000000"
            + f"{len(text):02X}" + out.hex().upper())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--link", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--pin")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--unregistered", action="store_true")
    ap.add_argument("--inbox")
    a = ap.parse_args()

    master, slave = os.openpty()
    tty.setraw(slave)
    # Keep the terminal side open ourselves, so the pty lives between the node's opens.
    path = os.ttyname(slave)
    if os.path.lexists(a.link):
        os.remove(a.link)
    os.symlink(path, a.link)
    open(a.record, "a").close()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    state = {"echo": True, "locked": a.pin is not None, "fail": a.fail, "ref": 0, "inbox_read": 0, "next": 1}
    stored = {}  # index -> PDU hex
    buf = b""
    pdu_length = None  # set while a message body is expected

    def say(*lines):
        os.write(master, b"".join(b"\r\n" + l.encode() + b"\r\n" for l in lines))

    def command(line):
        nonlocal pdu_length
        up = line.upper()
        if up in ("AT", "ATZ"):
            say("OK")
        elif up in ("ATE0", "ATE1"):
            state["echo"] = up == "ATE1"
            say("OK")
        elif up == "AT+CPIN?":
            say("+CPIN: SIM PIN" if state["locked"] else "+CPIN: READY", "OK")
        elif up.startswith("AT+CPIN="):
            if line[8:].strip('"') == a.pin:
                state["locked"] = False
                say("OK")
            else:
                say("+CME ERROR: 16")  # incorrect password
        elif state["locked"]:
            say("+CME ERROR: 11")  # SIM PIN required
        elif up in ("AT+CMGF=0", "AT+CMGF=1"):
            say("OK")
        elif up == "AT+CREG?":
            say("+CREG: 0,2" if a.unregistered else "+CREG: 0,1", "OK")
        elif up == "AT+CSQ":
            say("+CSQ: 21,99", "OK")
        elif up == "AT+CMGL=4":
            take_inbox()
            lines = []
            for index, pdu in sorted(stored.items()):
                lines += [f"+CMGL: {index},1,,{len(pdu) // 2 - 1}", pdu]
            say(*lines, "OK")
        elif up.startswith("AT+CMGD="):
            stored.pop(int(up[8:]) if up[8:].isdigit() else -1, None)
            say("OK")
        elif up.startswith("AT+CMGS="):
            try:
                pdu_length = int(up[8:])
            except ValueError:
                say("ERROR")
                return
            os.write(master, b"\r\n> ")
        else:
            say("ERROR")

    def take_inbox():
        if not a.inbox or not os.path.exists(a.inbox):
            return
        with open(a.inbox) as f:
            lines = f.read().splitlines()
        for line in lines[state["inbox_read"]:]:
            number, _, text = line.partition("|")
            stored[state["next"]] = deliver_pdu(number, text)
            state["next"] += 1
        state["inbox_read"] = len(lines)

    def body(hexdigits):
        text = hexdigits.decode(errors="replace").strip()
        try:
            pdu = bytes.fromhex(text)
        except ValueError:
            say("+CMS ERROR: 304")  # invalid PDU mode parameter
            return
        if len(pdu) - 1 - pdu[0] != pdu_length:
            say("+CMS ERROR: 304")
            return
        if state["fail"] > 0:
            state["fail"] -= 1
            say("+CMS ERROR: 38")
            return
        with open(a.record, "a") as f:
            f.write(text + "\n")
        state["ref"] = (state["ref"] + 1) % 256
        say(f"+CMGS: {state['ref']}", "OK")

    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            return
        if not data:
            return
        if state["echo"] and pdu_length is None:
            os.write(master, data)
        buf += data
        while True:
            if pdu_length is not None:
                if b"\x1b" in buf:  # Escape: the send is cancelled
                    buf = buf.split(b"\x1b", 1)[1]
                    pdu_length = None
                    continue
                if b"\x1a" not in buf:
                    break
                hexdigits, buf = buf.split(b"\x1a", 1)
                body(hexdigits)
                pdu_length = None
                continue
            buf = buf.replace(b"\x1b", b"")
            if b"\r" not in buf:
                break
            line, buf = buf.split(b"\r", 1)
            line = line.strip(b"\n ").decode(errors="replace")
            if line:
                command(line)


if __name__ == "__main__":
    main()

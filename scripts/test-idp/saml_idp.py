#!/usr/bin/env python3
"""The SAML 2.0 identity provider beredd's login tests run on loopback (crates/node/tests/it/
federation.rs, ui-tests): pysaml2's IdP (IdentityPython, from PyPI) with Debian's xmlsec1 for
the XML signatures.

All protocol work (parsing and checking the AuthnRequest, including its HTTP-Redirect
signature against the SP's metadata, choosing the assertion consumer service, building and
signing the Response and its Assertion with RSA-SHA256, the HTTP-POST form) is pysaml2's; this
file only shows a login form and maps HTTP requests from the stdlib http.server onto it.

  GET  /metadata       this IdP's metadata (entity id = http://HOST:PORT/metadata)
  GET  /sso/redirect   SAMLRequest (HTTP-Redirect binding) -> login form
  POST /login          username + password -> auto-submitting form to the SP's ACS

Users file (the same as the OpenID Connect test IdP's): {"kim": {"password": "...", "name":
"...", "hsa_id": "...", "organisation": "...", "groups": ["iva"]}}. Every key but "password" and
"name_id" becomes a SAML attribute of that name (NameFormat basic); the NameID is "name_id",
else the login name. The SP's metadata is read at start from --sp-metadata (file or URL).
"""
import argparse
import atexit
import datetime
import html
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

LOGIN_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test IdP: log in</title></head><body>
<main><h1>Test SAML IdP</h1>
<form action="/login" method="post">
  <input type="hidden" name="request" value="{request}">
  <p><label for="username">User name</label> <input id="username" type="text" name="username" required></p>
  <p><label for="password">Password</label> <input id="password" type="password" name="password" required></p>
  <p><input type="submit" value="Log in"></p>
</form></main></body></html>
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8898, help="0 = pick a free port (printed on stdout)")
    p.add_argument("--sp-metadata", action="append", required=True, help="file or http URL; repeatable")
    p.add_argument("--users", required=True, help="JSON file: {login_name: {attribute: value, ...}}")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args()


def key_pair(workdir):
    """An RSA key and a self-signed certificate for this IdP's signatures."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "beredd test SAML IdP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = os.path.join(workdir, "idp-key.pem"), os.path.join(workdir, "idp.pem")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def sp_metadata_files(sources, workdir):
    files = []
    for i, src in enumerate(sources):
        if src.startswith("http://") or src.startswith("https://"):
            path = os.path.join(workdir, f"sp-{i}.xml")
            with urllib.request.urlopen(src, timeout=10) as r, open(path, "wb") as f:
                f.write(r.read())
            files.append(path)
        else:
            files.append(src)
    return files


def main():
    a = parse_args()
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, stream=sys.stderr)
    with open(a.users) as f:
        users = json.load(f)

    httpd = ThreadingHTTPServer((a.host, a.port), None)
    port = httpd.server_address[1]
    base = f"http://{a.host}:{port}"
    entity_id = f"{base}/metadata"

    workdir = tempfile.mkdtemp(prefix="saml-idp-")
    atexit.register(shutil.rmtree, workdir, True)
    key_file, cert_file = key_pair(workdir)
    conf = {
        "entityid": entity_id,
        "xmlsec_binary": shutil.which("xmlsec1"),
        "key_file": key_file,
        "cert_file": cert_file,
        "metadata": {"local": sp_metadata_files(a.sp_metadata, workdir)},
        "allow_unknown_attributes": True,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]},
            "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
            "want_authn_requests_signed": True,
            "sign_response": True,
            "sign_assertion": True,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_BASIC,
                                   "attribute_restrictions": None}},
        }},
    }
    cfg = IdPConfig()
    cfg.load(conf)
    idp = Server(config=cfg)
    metadata = create_metadata_string(None, config=cfg, valid=None, sign=False).decode()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if a.verbose:
                super().log_message(fmt, *args)

        def _send(self, status, body, ctype="text/html; charset=utf-8"):
            body = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _request(self, query):
            """The AuthnRequest of a redirect-binding query, its signature checked."""
            q = dict(parse_qsl(query))
            if "Signature" not in q or "SigAlg" not in q:
                raise ValueError("the AuthnRequest is not signed")
            return q, idp.parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                              relay_state=q.get("RelayState"), sigalg=q["SigAlg"],
                                              signature=q["Signature"])

        def _sso(self, query):
            try:
                self._request(query)
            except Exception as e:
                logging.exception("AuthnRequest refused")
                return self._send(400, f"AuthnRequest refused: {html.escape(str(e))}", "text/plain")
            return self._send(200, LOGIN_FORM.format(request=html.escape(query, quote=True)))

        def _login(self, body):
            form = dict(parse_qsl(body))
            user = users.get(form.get("username", ""))
            if user is None or str(user.get("password", form.get("username"))) != form.get("password"):
                return self._send(403, "Authentication failed", "text/plain")
            try:
                q, req = self._request(form.get("request", ""))
            except Exception as e:
                return self._send(400, f"AuthnRequest refused: {html.escape(str(e))}", "text/plain")
            args = idp.response_args(req.message, [BINDING_HTTP_POST])
            identity = {k: (v if isinstance(v, list) else [str(v)]) for k, v in user.items()
                        if k not in ("password", "name_id")}
            name_id = NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=str(user.get("name_id", form["username"])))
            resp = idp.create_authn_response(
                identity, userid=form["username"], name_id=name_id,
                authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                       "authn_auth": entity_id},
                sign_response=True, sign_assertion=True, **args)
            http = idp.apply_binding(args["binding"], str(resp), args["destination"], q.get("RelayState"),
                                     response=True)
            return self._send(200, http["data"])

        def _dispatch(self):
            parts = urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            with lock:
                if parts.path == "/metadata":
                    return self._send(200, metadata, "application/samlmetadata+xml")
                if parts.path == "/sso/redirect" and self.command == "GET":
                    return self._sso(parts.query)
                if parts.path == "/login" and self.command == "POST":
                    return self._login(body)
                return self._send(404, "not found", "text/plain")

        do_GET = do_POST = _dispatch

    httpd.RequestHandlerClass = Handler
    print(json.dumps({"entity_id": entity_id, "metadata_url": entity_id, "port": port}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

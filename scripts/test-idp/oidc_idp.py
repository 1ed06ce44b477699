#!/usr/bin/env python3
"""The OpenID Connect provider beredd's login tests run on loopback (crates/node/tests/it/
federation.rs): idpyoidc, IdentityPython's provider (the former oidc-op), from PyPI.

All protocol work (request validation, redirect_uri matching, client
authentication, PKCE, code/token minting, RS256 ID tokens, nonce,
discovery, userinfo) is done by idpyoidc.server; this file only maps HTTP
requests from the stdlib http.server onto its endpoints.

Users file: {"alice": {"sub": "...", "name": "...", "hsa_id": "...", ...}, ...}
  key        = login name typed into the login form
  "password" = optional, defaults to the login name; never released as a claim
  "sub"      = optional, defaults to the login name; becomes the ID token `sub`
  every other key is a claim, put in both the ID token and /userinfo: standard OIDC claims
  (name, email, ...) only when their scope (profile, email, ...) was requested, any other
  claim (hsa_id, organisation, groups, ...) always.
"""
import argparse
import json
import logging
import os
import shutil
import signal
import atexit
import sys
import tempfile
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from idpyoidc.message.oauth2 import ResponseMessage
from idpyoidc.message.oidc import AccessTokenRequest, AuthorizationRequest
from idpyoidc.server import Server
from idpyoidc.server.configure import OPConfiguration
from idpyoidc.server.exception import ClientAuthenticationError, FailedAuthentication
from idpyoidc.server.oauth2.add_on.pkce import CC_METHOD
from idpyoidc.server.session.claims import STANDARD_CLAIMS

LOGIN_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title></head><body>
<h1>{{ page_header }}</h1>
<form action="{{ action }}" method="post">
  <input type="hidden" name="token" value="{{ token }}">
  <label>{{ user_label }} <input type="text" name="username" required></label>
  <label>{{ passwd_label }} <input type="password" name="password" required></label>
  <input type="submit" value="{{ submit_btn }}">
</form></body></html>
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8899, help="0 = pick a free port (printed on stdout)")
    p.add_argument("--issuer", help="default http://HOST:PORT")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--redirect-uri", action="append", required=True, help="repeatable")
    p.add_argument("--clients", help="optional JSON file {client_id: {client_secret, redirect_uris}} for extra clients")
    p.add_argument("--users", required=True, help="JSON file: {login_name: {claim: value, ...}}")
    p.add_argument("--no-pkce-required", action="store_true", help="accept authorization requests without code_challenge")
    p.add_argument("--allow-key-rotation", action="store_true",
                   help="POST /test/rotate-keys replaces the signing key (for the relying party's key-rotation test)")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args()


def client_entry(secret, redirect_uris):
    return {
        "client_secret": secret,
        # idpyoidc stores redirect URIs as (base, query-dict) pairs; exact match on base,
        # and the query part must match too.
        "redirect_uris": [(u, {}) for u in redirect_uris],
        "response_types_supported": ["code"],
        "allowed_scopes": ["openid", "profile", "email", "address", "phone", "offline_access"],
        # no token_endpoint_auth_method => client_secret_basic and client_secret_post both accepted
    }


def main():
    a = parse_args()
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING, stream=sys.stderr)

    with open(a.users) as f:
        raw_users = json.load(f)
    passwords, userinfo_db, subs = {}, {}, {}
    for login, claims in raw_users.items():
        claims = dict(claims)
        passwords[login] = str(claims.pop("password", login))
        subs[login] = str(claims.pop("sub", login))
        userinfo_db[login] = claims
    all_claims = sorted({c for claims in userinfo_db.values() for c in claims})
    # standard claims (name, email, ...) are released per scope (profile, email, ...);
    # non-standard ones (hsa_id, organisation, groups, ...) are always released.
    extra_claims = [c for c in all_claims if c not in STANDARD_CLAIMS]

    # Bind first so that --port 0 works and the issuer is known before building the OP.
    httpd = ThreadingHTTPServer((a.host, a.port), None)
    port = httpd.server_address[1]
    issuer = (a.issuer or f"http://{a.host}:{port}").rstrip("/")

    workdir = tempfile.mkdtemp(prefix="oidc-idp-")
    atexit.register(shutil.rmtree, workdir, True)
    os.makedirs(os.path.join(workdir, "templates"))
    with open(os.path.join(workdir, "templates", "login.jinja2"), "w") as f:
        f.write(LOGIN_TEMPLATE)

    conf = {
        "issuer": issuer,
        "httpc_params": {"verify": False},
        "keys": {"key_defs": [{"type": "RSA", "use": ["sig"]}], "uri_path": "jwks"},
        "preference": {
            "subject_types_supported": ["public"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "request_parameter_supported": False,
            "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access"],
            "claims_supported": ["sub"] + all_claims,
        },
        "template_dir": os.path.join(workdir, "templates"),
        "endpoint": {
            "provider_config": {"path": ".well-known/openid-configuration",
                                "class": "idpyoidc.server.oidc.provider_config.ProviderConfiguration",
                                "kwargs": {}},
            "authorization": {"path": "authorization",
                              "class": "idpyoidc.server.oidc.authorization.Authorization",
                              "kwargs": {"response_types_supported": ["code"],
                                         "response_modes_supported": ["query"],
                                         "claims_parameter_supported": True,
                                         "request_parameter_supported": False,
                                         "request_uri_parameter_supported": False}},
            "token": {"path": "token",
                      "class": "idpyoidc.server.oidc.token.Token",
                      "kwargs": {"client_authn_method": ["client_secret_basic", "client_secret_post"]}},
            "userinfo": {"path": "userinfo",
                         "class": "idpyoidc.server.oidc.userinfo.UserInfo",
                         "kwargs": {"add_claims_by_scope": True, "always_add_claims": extra_claims}},
        },
        "add_on": {"pkce": {"function": "idpyoidc.server.oauth2.add_on.pkce.add_support",
                            "kwargs": {"essential": not a.no_pkce_required,
                                       "code_challenge_methods": {"S256": CC_METHOD["S256"]}}}},
        "authentication": {
            "user": {"acr": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                     "class": "idpyoidc.server.user_authn.user.UserPassJinja2",
                     "kwargs": {"verify_endpoint": "/verify/user", "template": "login.jinja2",
                                "db": {"class": dict, "kwargs": passwords}}}},
        "userinfo": {"class": "idpyoidc.server.user_info.UserInfo", "kwargs": {"db": userinfo_db}},
        "session_params": {
            "encrypter": {"kwargs": {"keys": {"key_defs": [
                {"type": "OCT", "use": ["enc"], "kid": "password"},
                {"type": "OCT", "use": ["enc"], "kid": "salt"}]}, "iterations": 1}},
            # `sub` = the per-user value from the users file (default: the login name)
            "sub_func": {"public": {"function": lambda uid, *_a, **_k: subs[uid]}},
        },
        "token_handler_args": {
            "code": {"lifetime": 600},
            "token": {"lifetime": 3600},
            "refresh": {"lifetime": 86400},
            "id_token": {"class": "idpyoidc.server.token.id_token.IDToken",
                         "kwargs": {"lifetime": 3600, "add_claims_by_scope": True,
                                    "always_add_claims": extra_claims}},
        },
        "cookie_handler": {"class": "idpyoidc.server.cookie_handler.CookieHandler",
                           "kwargs": {"keys": {"key_defs": [{"type": "OCT", "use": ["enc"], "kid": "enc"},
                                                            {"type": "OCT", "use": ["sig"], "kid": "sig"}]},
                                      "name": {"session": "oidc_op", "register": "oidc_op_rp",
                                               "session_management": "sman"}}},
    }
    server = Server(OPConfiguration(conf=conf, base_path=workdir), cwd=workdir)
    context = server.context
    # let the OP verify JWTs it signed itself (login-form token)
    server.keyjar.import_jwks(server.keyjar.export_jwks(True, ""), issuer)

    clients = {a.client_id: client_entry(a.client_secret, a.redirect_uri)}
    if a.clients:
        with open(a.clients) as f:
            for cid, c in json.load(f).items():
                clients[cid] = client_entry(c["client_secret"], c["redirect_uris"])
    for cid, c in clients.items():
        context.cdb[cid] = dict(c, client_id=cid)

    routes = {"/" + ep.endpoint_path.lstrip("/"): ep for ep in server.endpoint.values()}
    published = {"jwks": json.dumps(server.keyjar.export_jwks(issuer_id="")), "fetched": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if a.verbose:
                super().log_message(fmt, *args)

        def _send(self, status, body=b"", ctype="text/plain", headers=(), cookies=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in headers:
                if k.lower() not in ("content-type", "content-length"):
                    self.send_header(k, v)
            for c in cookies:
                self.send_header("Set-Cookie", f"{c['name']}={c['value']}; Path=/; HttpOnly; SameSite=Lax")
            self.end_headers()
            self.wfile.write(body)

        def _json_err(self, status, error, desc):
            self._send(status, json.dumps({"error": error, "error_description": desc}), "application/json")

        def _http_info(self):
            cookies = SimpleCookie(self.headers.get("Cookie", ""))
            return {"headers": {k.lower(): v for k, v in self.headers.items() if k.lower() != "cookie"},
                    "method": self.command, "url": issuer + self.path,
                    "cookie": [{"name": k, "value": m.value} for k, m in cookies.items()]}

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n).decode() if n else ""

        def _finish(self, endpoint, req, args):
            if "http_response" in args:
                return self._send(200, args["http_response"], "text/html; charset=utf-8")
            if "redirect_location" in args:
                return self._send(302, headers=[("Location", args["redirect_location"])])
            info = endpoint.do_response(request=req, **args)
            placement = info.get("response_placement", endpoint.response_placement)
            headers = list(info.get("http_headers", []))
            ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "application/json")
            cookies = info.get("cookie") or []
            cookies = [cookies] if isinstance(cookies, dict) else cookies
            if placement == "url":
                return self._send(302, headers=headers + [("Location", info["response"])], cookies=cookies)
            status = info.get("response_code", 400 if args.get("error") else 200)
            return self._send(status, info["response"], ctype, headers, cookies)

        def _endpoint(self, endpoint, query, body):
            http_info = self._http_info()
            raw = dict(parse_qsl(query)) if self.command == "GET" else dict(parse_qsl(body))
            try:
                req = endpoint.parse_request(raw, http_info=http_info)
            except ClientAuthenticationError as e:
                return self._json_err(401, "invalid_client", str(e))
            except Exception as e:
                logging.exception("parse_request")
                return self._json_err(400, "invalid_request", str(e))
            if isinstance(req, ResponseMessage) and "error" in req:
                status = 401 if req["error"] == "invalid_client" else 400
                return self._send(status, req.to_json(), "application/json")
            if endpoint.name == "token":
                req = AccessTokenRequest(**req.to_dict())
            try:
                args = endpoint.process_request(req, http_info=http_info)
            except Exception as e:
                logging.exception("process_request")
                return self._json_err(400, "invalid_request", str(e))
            if isinstance(args, ResponseMessage) and "error" in args:
                return self._send(400, args.to_json(), "application/json")
            if "error" in args and "response_args" not in args and endpoint.response_placement == "body":
                return self._send(400, json.dumps({k: v for k, v in args.items() if k.startswith("error")}),
                                  "application/json")
            return self._finish(endpoint, req, args)

        def _verify_login(self, body):
            form = dict(parse_qsl(body))
            authn = context.authn_broker.get_method_by_id("user")
            try:
                username = authn.verify(**form)
            except FailedAuthentication:
                return self._send(403, "Authentication failed")
            auth_args = authn.unpack_token(form["token"])
            authz_req = AuthorizationRequest().from_urlencoded(auth_args["query"])
            endpoint = server.get_endpoint("authorization")
            sid = endpoint.create_session(authz_req, username, auth_args["authn_class_ref"],
                                          auth_args["iat"], authn)
            args = endpoint.authz_part2(request=authz_req, session_id=sid)
            if isinstance(args, ResponseMessage) and "error" in args:
                return self._send(400, args.to_json(), "application/json")
            return self._finish(endpoint, authz_req, args)

        def _dispatch(self):
            parts = urlsplit(self.path)
            body = self._body() if self.command == "POST" else ""
            with lock:
                if parts.path == "/jwks":
                    published["fetched"] += 1
                    return self._send(200, published["jwks"], "application/json")
                if parts.path == "/test/rotate-keys" and self.command == "POST" and a.allow_key_rotation:
                    # A new signing key; the old one is no longer used nor published.
                    server.keyjar.rotate_keys([{"type": "RSA", "use": ["sig"]}], issuer_id="")
                    # The copy under the issuer's own name (see above) signs too: replace it.
                    del server.keyjar[issuer]
                    server.keyjar.import_jwks(server.keyjar.export_jwks(True, ""), issuer)
                    published["jwks"] = json.dumps(server.keyjar.export_jwks(issuer_id=""))
                    return self._send(200, published["jwks"], "application/json")
                if parts.path == "/test/jwks-fetched" and a.allow_key_rotation:
                    return self._send(200, str(published["fetched"]))
                if parts.path == "/verify/user" and self.command == "POST":
                    return self._verify_login(body)
                ep = routes.get(parts.path)
                if ep is None:
                    return self._send(404, "not found")
                return self._endpoint(ep, parts.query, body)

        do_GET = do_POST = _dispatch

    httpd.RequestHandlerClass = Handler
    print(json.dumps({"issuer": issuer, "port": port}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run atexit cleanup on kill
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

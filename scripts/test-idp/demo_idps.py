#!/usr/bin/env python3
"""Starts the tests' two identity providers next to a running `make demo` and adds them to it,
so that a person can log in through OpenID Connect and through SAML on any demo node:

  ~/.cache/beredd-venv/bin/python scripts/test-idp/demo_idps.py [--demo beredd-demo]

- OpenID Connect (idpyoidc, scripts/test-idp/oidc_idp.py) on 127.0.0.1:8800, with every demo
  node's callback registered; added to the demo as `test-oidc`.
- SAML 2.0 (pysaml2 + xmlsec1, scripts/test-idp/saml_idp.py) on 127.0.0.1:8801, reading the
  demo's SP metadata from node 1; added to the demo as `test-saml` by its metadata URL.

Both know the people in scripts/test-idp/users.example.json (`kim` / `kim-losen`, staff of
ekb-iva by the rules added here). Stop with Ctrl-C; the IdPs stay configured in the demo (and
are shown as not reachable while these are not running).
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = [{"attribute": "groups", "value": "iva", "role": "staff", "units": ["ekb-iva"]}]


def api(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def start(args):
    proc = subprocess.Popen([sys.executable] + args, stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo", default="beredd-demo", help="the demo's --data folder")
    p.add_argument("--users", default=os.path.join(HERE, "users.example.json"))
    a = p.parse_args()
    with open(os.path.join(a.demo, "demo-cluster.json")) as f:
        nodes = [n["http"] for n in json.load(f)["nodes"]]
    with open(os.path.join(a.demo, "credentials.json")) as f:
        token = json.load(f)["api_token"]

    callbacks = []
    for n in nodes:
        callbacks += ["--redirect-uri", f"{n}/auth/oidc/test-oidc/callback"]
    oidc, oidc_info = start([os.path.join(HERE, "oidc_idp.py"), "--port", "8800", "--client-id", "beredd",
                             "--client-secret", "demo-hemlighet", "--users", a.users] + callbacks)
    saml, saml_info = start([os.path.join(HERE, "saml_idp.py"), "--port", "8801", "--users", a.users,
                             "--sp-metadata", f"{nodes[0]}/auth/saml/metadata"])
    mapping = {"user_attribute": "hsa_id", "org_attribute": "organisation", "allowed_orgs": ["Lunds kommun"],
               "rules": RULES}
    idps = [
        {"id": "test-oidc", "name": "Test-IdP (OpenID Connect)",
         "protocol": {"kind": "oidc", "issuer": oidc_info["issuer"], "client_id": "beredd",
                      "client_secret": "demo-hemlighet", "scopes": ["profile"]}, "mapping": mapping},
        {"id": "test-saml", "name": "Test-IdP (SAML)",
         "protocol": {"kind": "saml", "metadata_url": saml_info["metadata_url"]},
         # pysaml2 sends the names it knows as URNs.
         "mapping": dict(mapping, name_attribute="urn:mace:dir:attribute-def:name")},
    ]
    try:
        for idp in idps:
            status, body = api(nodes[0], token, "POST", "/api/v1/idps", idp)
            if status == 409:
                print(f"{idp['id']}: already in the demo")
            elif status >= 300:
                sys.exit(f"adding {idp['id']} failed: {status} {body}")
            else:
                print(f"{idp['id']}: added")
        print(f"OpenID Connect IdP: {oidc_info['issuer']}   SAML IdP: {saml_info['metadata_url']}")
        print(f"log in on any node, e.g. {nodes[-1]}/login, as kim / kim-losen; stop with Ctrl-C")
        oidc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (oidc, saml):
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()

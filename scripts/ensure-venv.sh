#!/usr/bin/env bash
# Makes the Python venv for `make test` (from PyPI): schemathesis for API fuzzing, selenium and
# pytest for the browser tests, and axe-core 4 (the axe.min.js that axe-playwright-python ships;
# installed without Playwright, whose browsers we do not need: Debian's Chromium is used), and
# lxml + saxonche for the PEPPOL validator (UBL schema and the compiled T01 Schematron rules),
# feedparser to read back the status page's Atom feed, vobject to read back vCards, and aiosmtpd
# for the mail server tests and the demo deliver to (scripts/mailbox.py), idpyoidc, the
# OpenID Connect provider the login tests run on loopback (scripts/test-idp/oidc_idp.py), and
# pysaml2, their SAML IdP (scripts/test-idp/saml_idp.py; signs with Debian's xmlsec1).
set -euo pipefail
venv="$1"
stamp="$venv/.beredd-v8"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5 selenium==4.51.0 pytest==8.4.2 \
    lxml==6.1.3 saxonche==13.1.1 feedparser==6.0.14 vobject==0.9.9 aiosmtpd==1.4.6 idpyoidc==5.0.0 pysaml2==7.5.5
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps axe-playwright-python==0.1.8
  touch "$stamp"
fi

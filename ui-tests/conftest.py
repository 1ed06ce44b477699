"""Fixtures for the browser tests: one `beredd demo` cluster for the whole run, and a real
headless Chromium (Debian's) driven through chromedriver. Screenshots go to $UI_ARTIFACTS
(default: ui-tests/artifacts), one PNG per main page."""

import json
import os
import sys
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from democluster import DEFAULT_BEREDD, DemoCluster  # noqa: E402

ARTIFACTS = os.environ.get("UI_ARTIFACTS", os.path.join(os.path.dirname(__file__), "artifacts"))


@pytest.fixture(scope="session")
def cluster():
    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    # Break-glass is offered after 5 s without a majority (the demo's own is a minute).
    demo = DemoCluster(beredd, int(os.environ.get("UI_BASE_PORT", "17181")), prefix="beredd-ui-",
                       env={"BEREDD_CLUSTER_BREAK_GLASS_AFTER_S": "5"})
    with open(os.path.join(demo.dir, "credentials.json")) as f:
        demo.password = json.load(f)["admin_password"]
    # Wait until the demo data is in (the last demo order exists on node 1).
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            req = urllib.request.Request(demo.nodes[0]["http"] + "/api/v1/orders?limit=1",
                                         headers={"Authorization": f"Bearer {demo.token}"})
            if json.load(urllib.request.urlopen(req, timeout=5))["items"]:
                break
        except OSError:
            pass
        time.sleep(0.5)
    yield demo
    try:
        demo.stop()
    except Exception:  # noqa: BLE001 - nodes may have been killed by a test
        demo.proc.kill()


@pytest.fixture(scope="session")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--window-size=1280,1000", "--lang=sv-SE"]:
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "sv-SE,sv"})
    # Network events, for the test that opens the offline copy from a folder (no request may go out).
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)
    driver.implicitly_wait(0)
    os.makedirs(ARTIFACTS, exist_ok=True)
    yield driver
    driver.quit()

"""Browser tests in a real headless Chromium against a real three-node demo cluster: the whole
ordering flow across nodes, search, form errors, languages, accessibility (axe-core 4, WCAG 2.1
A and AA) on every main page, and every page with two nodes killed."""

import base64
import io
import os
import re
import subprocess
import signal
import sys
import time
import json
import urllib.request
import zipfile

from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS
from democluster import DEFAULT_BEREDD, DemoCluster

def axe_source():
    import axe_playwright_python
    with open(os.path.join(os.path.dirname(axe_playwright_python.__file__), "axe.min.js"), encoding="utf8") as f:
        return f.read()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_a11y(driver, what):
    """Runs axe-core on the current page; fails with a readable list of violations."""
    driver.execute_script(axe_source())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));")
    lines = []
    for v in result:
        targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])][:5]
        lines.append(f"{v['id']}: {v.get('help')} at {targets}")
    assert not result, f"axe found accessibility violations on {what}:\n" + "\n".join(lines)


def go(driver, element):
    """Clicks a link or submit button and waits until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_):
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            # Stale, or (Chromium, mid-navigation) "node does not belong to the document".
            return True

    WebDriverWait(driver, 15).until(replaced)


def shot(driver, name):
    driver.save_screenshot(os.path.join(ARTIFACTS, f"{name}.png"))


def body(driver):
    return driver.find_element(By.TAG_NAME, "body")


def text(driver):
    return body(driver).text


def node_url(cluster, i):
    return cluster.nodes[i]["http"]


def login(driver, base, user, password):
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
    assert "/login" not in driver.current_url, text(driver)


def submit_button(driver, op):
    return driver.find_element(By.CSS_SELECTOR, f"button[name=op][value={op}]:not(.visually-hidden)")


def test_login_page_is_swedish_accessible_and_rejects_a_wrong_password(cluster, browser):
    base = node_url(cluster, 0)
    browser.delete_all_cookies()
    browser.get(base + "/")
    assert "/login" in browser.current_url, "pages need a login"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"
    assert body(browser).get_attribute("data-node-id") == "1"
    assert body(browser).get_attribute("data-quorum") == "ok"
    check_a11y(browser, "login")
    shot(browser, "01-login")
    browser.find_element(By.ID, "user").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("fel lösenord")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
    assert "Fel användarnamn eller lösenord" in text(browser)
    assert browser.find_element(By.ID, "user").get_attribute("value") == "admin", "the user name is kept"


def test_catalog_search_folds_case_diacritics_and_word_endings(cluster, browser):
    base = node_url(cluster, 0)
    login(browser, base, "admin", cluster.password)
    # An article with a diacritic in its name, made through the admin form.
    browser.get(base + "/admin/articles/new")
    check_a11y(browser, "admin article form")
    shot(browser, "08-admin-article-form")
    f = {"f-article_number": "UI-ÖSTRA-1", "f-name": "Östra förrådets kompress", "f-category": "Förband",
         "f-pack_size": "10", "f-price": "12,50"}
    for k, v in f.items():
        browser.find_element(By.ID, k).send_keys(v)
    browser.find_element(By.CSS_SELECTOR, "#f-supplier_id option[value=medilux]").click()
    browser.find_element(By.CSS_SELECTOR, "#f-unit option[value=PK]").click()
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    assert "Sparat" in text(browser), text(browser)
    check_a11y(browser, "admin list")
    shot(browser, "07-admin")

    browser.get(base + "/catalog?q=ostra")
    assert "Östra förrådets kompress" in text(browser)
    browser.get(base + "/catalog?q=HANDSKE")
    hits = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert len(hits) >= 5
    assert all(re.search("handsk", r.text, re.I) for r in hits), [r.text for r in hits]
    check_a11y(browser, "catalog")
    shot(browser, "02-catalog")


def test_a_form_error_is_shown_beside_its_field_and_keeps_the_input(cluster, browser):
    base = node_url(cluster, 0)
    login(browser, base, "sjukskoterska", cluster.password)
    browser.get(base + "/orders/new")
    browser.find_element(By.ID, "line-0-article").send_keys("FINNS-INTE-999")
    browser.find_element(By.ID, "line-0-quantity").send_keys("tre")
    browser.find_element(By.ID, "line-0-note").send_keys("behåll mig")
    browser.find_element(By.ID, "needed_by").send_keys("2026-13-45")
    go(browser, submit_button(browser, "submit"))
    err = browser.find_element(By.ID, "line-0-article-error").text
    assert "Ingen artikel har det numret" in err
    assert browser.find_element(By.ID, "line-0-quantity-error").text
    assert browser.find_element(By.ID, "needed_by-error").text
    assert browser.find_element(By.ID, "line-0-article").get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "line-0-article").get_attribute("value") == "FINNS-INTE-999"
    assert browser.find_element(By.ID, "line-0-quantity").get_attribute("value") == "tre"
    assert browser.find_element(By.ID, "line-0-note").get_attribute("value") == "behåll mig"
    check_a11y(browser, "order form with errors")
    shot(browser, "04-order-form-errors")


def order_id_from(url):
    m = re.search(r"/orders/([^/?]+)", url)
    assert m, url
    return m.group(1)


def test_order_created_on_one_node_approved_on_a_second_and_delivered_on_a_third(cluster, browser):
    n1, n2, n3 = (node_url(cluster, i) for i in range(3))
    # Staff on node 1: find gloves, order five boxes for the ICU, urgent, submit.
    login(browser, n1, "sjukskoterska", cluster.password)
    check_a11y(browser, "start page (staff)")
    shot(browser, "00-home-staff")
    browser.get(n1 + "/catalog?q=handske")
    go(browser, browser.find_element(By.CSS_SELECTOR, "table.list tbody tr a.button"))
    assert "/orders/new" in browser.current_url
    assert browser.find_element(By.ID, "line-0-article").get_attribute("value"), "the article is prefilled"
    browser.find_element(By.CSS_SELECTOR, "#unit option[value=ekb-iva]").click()
    browser.find_element(By.ID, "line-0-quantity").send_keys("5")
    browser.find_element(By.ID, "needed_by").send_keys("2026-12-01")
    browser.find_element(By.ID, "urgent").click()
    # Add a line without JavaScript: the form comes back with one more row and nothing lost.
    go(browser, submit_button(browser, "add"))
    assert browser.find_element(By.ID, "line-0-quantity").get_attribute("value") == "5"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.lines-table tbody tr")
    browser.find_element(By.ID, f"line-{len(rows) - 1}-article").send_keys("ML-44000")
    browser.find_element(By.ID, f"line-{len(rows) - 1}-quantity").send_keys("2")
    check_a11y(browser, "order form")
    shot(browser, "03-order-form")
    go(browser, submit_button(browser, "submit"))
    assert "Beställningen är inskickad" in text(browser), text(browser)
    assert "Inskickad" in browser.find_element(By.TAG_NAME, "h1").text
    order_id = order_id_from(browser.current_url)
    number = browser.find_element(By.TAG_NAME, "h1").text.split()[1]
    assert body(browser).get_attribute("data-node-id") == "1"

    # Purchaser on node 2: the order waits under its supplier; approve it there, then send it.
    login(browser, n2, "inkopare", cluster.password)
    browser.get(n2 + "/purchasing?tab=review")
    assert number in text(browser)
    check_a11y(browser, "purchasing")
    shot(browser, "06-purchasing")
    row = browser.find_element(By.XPATH, f"//tr[td/a[text()='{number}']]")
    go(browser, row.find_element(By.CSS_SELECTOR, "button"))
    assert "Beställningen är godkänd" in text(browser)
    browser.get(f"{n2}/orders/{order_id}")
    assert body(browser).get_attribute("data-node-id") == "2"
    assert "Godkänd" in browser.find_element(By.TAG_NAME, "h1").text
    # The supplier's files, fetched through the page's own links with the session cookie: the
    # PDF reads back with pdftotext, the PEPPOL XML passes the validator.
    pdf = os.path.join(ARTIFACTS, "07-order.pdf")
    with open(pdf, "wb") as f:
        f.write(fetch_link(browser, "PDF"))
    printed = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    for want in [number, "BRÅDSKANDE", "Region Sjölanda", "Medilux", "ML-44000", "Sida 1 av"]:
        assert want in printed, f"{want!r} not in the PDF:\n{printed}"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, os.path.join(ARTIFACTS, "07-order-pdf")],
                   check=True)
    peppol = fetch_link(browser, "PEPPOL XML")
    if peppol.startswith(b"PK"):  # lines from several suppliers: one XML each, in a ZIP
        with zipfile.ZipFile(io.BytesIO(peppol)) as z:
            xmls = [z.extract(name, ARTIFACTS) for name in z.namelist()]
    else:
        xmls = [os.path.join(ARTIFACTS, "07-order.xml")]
        with open(xmls[0], "wb") as f:
            f.write(peppol)
    validator = os.path.join(os.path.dirname(__file__), "..", "tests", "peppol", "validate.py")
    check = subprocess.run([sys.executable, validator, *xmls], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    go(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Markera skickad']"))
    assert "Skickad" in browser.find_element(By.TAG_NAME, "h1").text

    # Staff on node 3: receive part of one line first (partial delivery stays visible), then the rest.
    login(browser, n3, "sjukskoterska", cluster.password)
    browser.get(f"{n3}/orders/{order_id}")
    assert body(browser).get_attribute("data-node-id") == "3"
    first = browser.find_element(By.ID, "received-1")
    first.clear()
    first.send_keys("2")
    second = browser.find_element(By.ID, "received-2")
    second.clear()
    go(browser, browser.find_element(By.XPATH, "//form[contains(@action,'/do/receive')]//button"))
    assert "Dellevererad" in browser.find_element(By.TAG_NAME, "h1").text, text(browser)
    go(browser, browser.find_element(By.XPATH, "//form[contains(@action,'/do/receive')]//button"))
    assert "Levererad" in browser.find_element(By.TAG_NAME, "h1").text
    history = browser.find_element(By.XPATH, "//h2[text()='Historik']/following-sibling::table").text
    for who in ["sjukskoterska", "inkopare"]:
        assert who in history
    check_a11y(browser, "order page")
    shot(browser, "05-order")
    # Printed on A4: the order and its lines, without navigation or buttons.
    opts = PrintOptions()
    opts.page_width, opts.page_height = 21.0, 29.7
    pdf = os.path.join(ARTIFACTS, "05-order-print.pdf")
    with open(pdf, "wb") as f:
        f.write(base64.b64decode(browser.print_page(opts)))
    printed = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert number in printed and "Historik" in printed and "ML-44000" in printed, printed
    for chrome in ["Logga ut", "Hoppa till innehållet", "Norsk (bokmål)", "Till beställningarna"]:
        assert chrome not in printed, f"{chrome!r} is printed"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, os.path.join(ARTIFACTS, "05-order-print")],
                   check=True)

    browser.get(n3 + "/orders?status=delivered")
    assert number in text(browser)
    check_a11y(browser, "order list")
    shot(browser, "09-orders")


def fetch_link(browser, label):
    """The bytes behind the download link named `label`, fetched by the page (session cookie)."""
    link = browser.find_element(By.XPATH, f"//p[contains(@class,'downloads')]/a[starts-with(normalize-space(), '{label}')]")
    href = link.get_attribute("href")
    encoded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))"
        ".then(b => { let s = ''; new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); done(btoa(s)); })"
        ".catch(e => done('ERROR ' + e));", href)
    assert not encoded.startswith("ERROR"), f"{href}: {encoded}"
    return base64.b64decode(encoded)


def test_language_follows_the_browser_and_the_switch(cluster, browser):
    base = node_url(cluster, 1)
    login(browser, base, "admin", cluster.password)
    browser.get(base + "/orders")
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.langs a[hreflang=nb]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nb"
    assert "Bestillinger" in browser.find_element(By.TAG_NAME, "h1").text
    check_a11y(browser, "order list in bokmål")
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.langs a[hreflang=en]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Orders"
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.langs a[hreflang=sv]"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"


def test_status_board_incident_from_one_node_reaches_another_with_banner_and_feed(cluster, browser):
    """A communicator opens an incident and updates it on node 1; node 2 shows it (no login
    needed), every page carries the banner, the Atom feed parses with feedparser, maintenance
    advances stage by stage; the pages are axe-clean."""
    import feedparser
    from selenium.webdriver.support.ui import Select
    a, b = node_url(cluster, 0), node_url(cluster, 1)
    browser.delete_all_cookies()
    browser.get(b + "/status")
    assert "/login" not in browser.current_url, "the status page needs no login"
    page = text(browser)
    for want in ["Driftstatus", "Personsökare", "Försämrad prestanda", "Stabsläge", "Uppgradering av affärssystemet",
                 "Planerat"]:
        assert want in page, want
    check_a11y(browser, "status page")
    shot(browser, "10-status")

    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/status/manage")
    check_a11y(browser, "status manage page")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/status/manage/incident']")
    form.find_element(By.NAME, "title").send_keys("Leverantörsportalen svarar inte")
    Select(form.find_element(By.NAME, "impact")).select_by_value("major")
    form.find_element(By.CSS_SELECTOR, "input[name=systems][value=leverantorsportal]").click()
    form.find_element(By.NAME, "body").send_keys("Beställ per telefon till Inköp jour, 8000.")
    Select(form.find_element(By.NAME, "next_in")).select_by_value("30")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "done=saved" in browser.current_url, text(browser)

    # Update it, and set the portal's light, from the same node.
    form = browser.find_element(By.CSS_SELECTOR, "form[action^='/status/manage/update/']")
    Select(form.find_element(By.NAME, "stage")).select_by_value("identified")
    form.find_element(By.NAME, "body").send_keys("Certifikatet har gått ut; nytt beställt.")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "done=saved" in browser.current_url, text(browser)
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/status/manage/light/leverantorsportal']")
    Select(form.find_element(By.NAME, "state")).select_by_value("major_outage")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    # Start the first stage of the demo maintenance.
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/status/manage/advance/demo-maint-erp']")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "done=saved" in browser.current_url, text(browser)

    # Node 2, logged out: the update, the light, the stage, and the banner on every page.
    browser.delete_all_cookies()
    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(b + "/status")
        if "Certifikatet har gått ut" in text(browser) and "del 1 av 5" in text(browser):
            break
        time.sleep(0.3)
    page = text(browser)
    for want in ["Leverantörsportalen svarar inte", "Orsak identifierad", "Certifikatet har gått ut; nytt beställt.",
                 "Beställ per telefon till Inköp jour, 8000.", "Större avbrott", "del 1 av 5: Beställningar stängs",
                 "Nästa uppdatering senast"]:
        assert want in page, want
    # The portal's action card applies now that the portal is down.
    cards_now = browser.find_element(By.ID, "cards-now-h").find_element(By.XPATH, "..").text
    assert "Affärssystemet (ERP) ligger nere" in cards_now and "Leverantörsportalen" in cards_now, cards_now
    banner = browser.find_element(By.CSS_SELECTOR, ".banner.major-incident")
    assert "Större störning" in banner.text and "Leverantörsportalen svarar inte" in banner.text
    check_a11y(browser, "status page with an incident")
    shot(browser, "11-status-incident")
    browser.get(b + "/login")
    assert "Leverantörsportalen svarar inte" in browser.find_element(By.CSS_SELECTOR, ".banner.major-incident").text

    raw = urllib.request.urlopen(b + "/status/feed.atom", timeout=10).read()
    feed = feedparser.parse(raw)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert "Orsak identifierad: Leverantörsportalen svarar inte" in titles, titles
    assert "Felsökning pågår: Leverantörsportalen svarar inte" in titles, titles
    assert any(t.startswith("Underhåll: Uppgradering av affärssystemet (del 1 av 5") for t in titles), titles
    first = next(e for e in feed.entries if e.title.startswith("Orsak identifierad"))
    assert "Certifikatet har gått ut" in first.content[0].value
    assert first.link.startswith(b + "/status#incident-")

    # The card itself, for staff: sections rendered from Markdown, accessible, printable.
    login(browser, b, "sjukskoterska", cluster.password)
    browser.get(b + "/cards")
    assert "Affärssystemet (ERP) ligger nere" in browser.find_element(By.ID, "now-h").find_element(By.XPATH, "..").text
    check_a11y(browser, "action cards")
    browser.get(b + "/cards/erp-nere")
    card = browser.find_element(By.CSS_SELECTOR, "article.action-card")
    assert card.find_element(By.CSS_SELECTOR, "ol li strong").text == "beredd"
    for want in ["Uppgift", "Vem", "När", "Åtgärder", "Dokumentera för efterregistrering", "Gäller nu – ur drift:"]:
        assert want in card.text, want
    check_a11y(browser, "action card")
    shot(browser, "13-action-card")

    # A promise that runs out: the next update is due in two seconds.
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    req = urllib.request.Request(a + "/api/v1/status/incidents", method="POST", data=json.dumps({
        "id": "ui-late", "title": "Personsökarna i hus 4 larmar sent", "impact": "minor",
        "body": "Vi felsöker.", "next_update_due": due}).encode(),
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=10).status == 201
    time.sleep(3)
    browser.get(b + "/status")
    late = browser.find_element(By.ID, "incident-ui-late")
    warning = late.find_element(By.CSS_SELECTOR, ".overdue")
    assert warning.get_attribute("role") == "alert" and "Uppdateringen är försenad." in warning.text, late.text
    check_a11y(browser, "status page with an overdue update")
    shot(browser, "14-status-overdue")

    # The binder, printed from node 2 through the page's own link.
    link = browser.find_element(By.CSS_SELECTOR, "a[href='/binder.pdf']")
    encoded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))"
        ".then(b => { let s = ''; new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); done(btoa(s)); })"
        ".catch(e => done('ERROR ' + e));", link.get_attribute("href"))
    assert not encoded.startswith("ERROR"), encoded
    pdf = os.path.join(ARTIFACTS, "15-binder.pdf")
    with open(pdf, "wb") as f:
        f.write(base64.b64decode(encoded))
    printed = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    for want in ["Beredskapspärm", "Läget just nu", "Personsökarna i hus 4 larmar sent", "Inköp jour",
                 "RSG INKÖP 1", "Jourer kommande vecka", "Affärssystemet (ERP) ligger nere",
                 "Öppna beställningar per enhet", "från nod 2"]:
        assert want in printed, f"{want!r} not in the binder"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, os.path.join(ARTIFACTS, "15-binder")],
                   check=True)
    req = urllib.request.Request(a + "/api/v1/status/incidents/ui-late/updates", method="POST", data=json.dumps({
        "stage": "resolved", "body": "Åtgärdat."}).encode(),
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"})
    assert urllib.request.urlopen(req, timeout=10).status == 200

    # Resolve it so that later tests see no banner.
    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/status/manage")
    form = browser.find_element(By.CSS_SELECTOR, "form[action^='/status/manage/update/']")
    Select(form.find_element(By.NAME, "stage")).select_by_value("resolved")
    form.find_element(By.NAME, "body").send_keys("Nytt certifikat på plats.")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "done=saved" in browser.current_url, text(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, ".banner.major-incident")


def test_directory_search_folds_letters_and_shows_who_is_on_call_with_every_route(cluster, browser):
    """Staff find the on-call purchaser and every fallback route on a node other than the
    one the directory was written on; search is diacritics-insensitive; the vCard download
    parses with vobject and the CSV with Python's csv module."""
    import csv as pycsv
    import vobject
    base = node_url(cluster, 2)
    login(browser, base, "sjukskoterska", cluster.password)
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.main-nav a[href='/contacts']"))
    oncall = browser.find_element(By.ID, "oncall-h").find_element(By.XPATH, "..").text
    assert "Inköp jour" in oncall and "Nu:" in oncall and "Därefter:" in oncall, oncall
    for route in ["010-100 80 00", "RSG INKÖP 1", "+870 776 480 000", "Ekbacka hus 3, plan 1, inköpsexpeditionen"]:
        assert route in oncall, route
    check_a11y(browser, "contacts")
    shot(browser, "12-contacts")
    box = browser.find_element(By.ID, "q")
    box.send_keys("ostlund")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.search button[type=submit]"))
    hits = browser.find_element(By.ID, "hits-h").find_element(By.XPATH, "..").text
    assert "Cecilia Östlund" in hits and "Anna Andersson" not in hits, hits
    browser.get(base + "/contacts")
    cards = list(vobject.readComponents(fetch_link(browser, "Ladda ner som vCard").decode("utf-8")))
    names = {c.fn.value for c in cards}
    assert {"Inköp jour", "Cecilia Östlund", "David Öberg"} <= names, names
    inkop = next(c for c in cards if c.fn.value == "Inköp jour")
    assert [t.value for t in inkop.contents["tel"]][:2] == ["010-100 80 00", "+46 70-180 80 00"]
    assert "1. Telefon: 010-100 80 00" in inkop.note.value
    rows = list(pycsv.DictReader(io.StringIO(fetch_link(browser, "Ladda ner som CSV").decode("utf-8-sig")), delimiter=";"))
    inkop = next(r for r in rows if r["id"] == "inkop-jour")
    assert (inkop["route1_kind"], inkop["route1_value"], inkop["route4_value"]) == ("phone", "010-100 80 00", "RSG INKÖP 1")


def set_value(browser, element, value):
    """Sets a date or datetime-local input the way a picker would (typing depends on the locale)."""
    browser.execute_script("arguments[0].value = arguments[1]", element, value)


def test_communicator_edits_the_directory_a_rota_and_a_card_in_forms(cluster, browser, tmp_path):
    """A communicator adds an entry with routes in fallback order (a bad route is refused
    beside its row and the input kept), overrides who is on call, imports a CSV (a bad row saves
    nothing and is reported by row and column) and writes a card linked to a system that is
    down; staff on another node see every change; every form is axe-clean."""
    from zoneinfo import ZoneInfo
    from datetime import datetime, timedelta
    from selenium.webdriver.support.ui import Select
    a, b = node_url(cluster, 0), node_url(cluster, 1)
    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/contacts")
    go(browser, browser.find_element(By.CSS_SELECTOR, "a[href='/contacts/new']"))
    browser.find_element(By.ID, "f-name").send_keys("Reservkraft jour")
    browser.find_element(By.ID, "f-site").send_keys("Östra sjukhuset")
    Select(browser.find_element(By.ID, "r0-kind")).select_by_value("phone")
    browser.find_element(By.ID, "r0-value").send_keys("010-100 70 00")
    browser.find_element(By.ID, "r0-hours").send_keys("dygnet runt")
    set_value(browser, browser.find_element(By.ID, "r0-tested"), "2026-11-30")
    Select(browser.find_element(By.ID, "r1-kind")).select_by_value("email")
    browser.find_element(By.ID, "r1-value").send_keys("reservkraft(at)region")
    check_a11y(browser, "contact form")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    bad = browser.find_element(By.ID, "r1-value")
    assert bad.get_attribute("aria-invalid") == "true", text(browser)
    assert bad.get_attribute("value") == "reservkraft(at)region"
    assert browser.find_element(By.ID, "r0-value").get_attribute("value") == "010-100 70 00"
    check_a11y(browser, "contact form with an error")
    shot(browser, "16-contact-form-error")
    bad.clear()
    bad.send_keys("reservkraft@region.example")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    assert "done=saved" in browser.current_url, text(browser)

    # Who is on call: an override for the next two hours.
    go(browser, browser.find_element(By.CSS_SELECTOR, "a[href='/contacts/rotas/inkop-jour/edit']"))
    check_a11y(browser, "rota form")
    local = lambda t: t.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%dT%H:%M")
    now = datetime.now().astimezone()
    row = next(i for i in range(50) if browser.find_element(By.ID, f"overrides-{i}-from").get_attribute("value") == "")
    set_value(browser, browser.find_element(By.ID, f"overrides-{row}-from"), local(now - timedelta(minutes=5)))
    set_value(browser, browser.find_element(By.ID, f"overrides-{row}-to"), local(now + timedelta(hours=2)))
    Select(browser.find_element(By.ID, f"overrides-{row}-contact")).select_by_value("cecilia-ostlund")
    browser.find_element(By.ID, f"overrides-{row}-note").send_keys("Byte, sjuk")
    shot(browser, "17-rota-form")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    assert "done=saved" in browser.current_url, text(browser)

    # Import: a file with a bad row saves nothing and says which row and column.
    csv_file = tmp_path / "kontakter.csv"
    csv_file.write_text("id;typ;namn;väg1_typ;väg1_värde\n"
                        "ui-vaktmastare;funktion;Vaktmästare jour;telefon;010-100 60 00\n"
                        "ui-fel;person;Fel Rad;fax;123\n", encoding="utf-8")
    browser.find_element(By.ID, "import-file").send_keys(str(csv_file))
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/contacts/import'] button"))
    report = browser.find_element(By.CSS_SELECTOR, "table.errors").text
    assert "3 route1_kind Okänd kod. fax" in report, report
    assert "Ingenting sparades." in browser.find_element(By.CSS_SELECTOR, ".error-box").text
    check_a11y(browser, "directory with an import report")
    shot(browser, "18-import-report")
    csv_file.write_text("id;typ;namn;väg1_typ;väg1_värde\n"
                        "ui-vaktmastare;funktion;Vaktmästare jour;telefon;010-100 60 00\n", encoding="utf-8")
    browser.find_element(By.ID, "import-file").send_keys(str(csv_file))
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/contacts/import'] button"))
    assert "Importen är sparad." in text(browser), text(browser)

    # A card for the pagers, which the demo has degraded: it applies at once.
    browser.get(a + "/cards")
    go(browser, browser.find_element(By.CSS_SELECTOR, "a[href='/cards/new']"))
    browser.find_element(By.ID, "f-title").send_keys("Personsökarna fungerar dåligt")
    Select(browser.find_element(By.ID, "f-category")).select_by_value("telephony")
    browser.find_element(By.ID, "f-task").send_keys("Nå jourhavande utan personsökare.")
    browser.find_element(By.ID, "f-who").send_keys("Växeln och avdelningarnas samordnare.")
    browser.find_element(By.ID, "f-trigger").send_keys("När personsökarna larmar sent eller inte alls.")
    browser.find_element(By.ID, "f-actions").send_keys("1. Ring via **RAKEL**.\n2. Skicka en springare.")
    browser.find_element(By.ID, "f-owner").send_keys("Telefoniansvarig")
    browser.find_element(By.CSS_SELECTOR, "input[name=systems][value=nrv-personsok]").click()
    check_a11y(browser, "card form")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    assert "done=saved" in browser.current_url, text(browser)
    card_url = browser.current_url.split("?")[0]
    go(browser, browser.find_element(By.XPATH, "//a[normalize-space()='Ändra kortet']"))
    title = browser.find_element(By.ID, "f-title")
    title.clear()
    title.send_keys("Personsökarna larmar sent")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
    assert "Tidigare versioner" in text(browser) and "Version 1" in text(browser), text(browser)

    # Staff on node 2 see all of it.
    login(browser, b, "sjukskoterska", cluster.password)
    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(b + "/contacts?q=reservkraft")
        if "Reservkraft jour" in text(browser):
            break
        time.sleep(0.3)
    entry = browser.find_element(By.ID, "contact-reservkraft-jour").text
    assert entry.index("010-100 70 00") < entry.index("reservkraft@region.example"), entry
    assert "testad 2026-11-30" in entry, entry
    browser.get(b + "/contacts?q=vaktmastare")
    assert "Vaktmästare jour" in text(browser) and "Fel Rad" not in text(browser)
    browser.get(b + "/contacts")
    oncall = browser.find_element(By.ID, "oncall-h").find_element(By.XPATH, "..").text
    assert "Nu: Cecilia Östlund" in oncall and "ersättare" in oncall, oncall
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href='/contacts/new']"), "staff may not edit"
    browser.get(b + "/cards")
    now = browser.find_element(By.ID, "now-h").find_element(By.XPATH, "..").text
    assert "Personsökarna larmar sent" in now, now
    browser.get(card_url.replace(a, b))
    assert browser.find_element(By.CSS_SELECTOR, "article.action-card ol li strong").text == "RAKEL"
    shot(browser, "19-card-written-in-the-form")


def cluster_json(base):
    return json.load(urllib.request.urlopen(base + "/api/v1/cluster", timeout=3))


def alive(pid):
    """Whether `pid` runs: a node killed earlier stays a zombie until `beredd demo` reaps it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_failover_drill_is_reported_on_the_ops_page_of_another_node(cluster, browser, tmp_path):
    n1, n2 = node_url(cluster, 0), node_url(cluster, 1)
    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    pdf = tmp_path / "drill.pdf"
    out = subprocess.run([beredd, "drill", "--http", n1, "--token", cluster.token, "--seconds", "3",
                          "--pdf", str(pdf), *cluster.tls_args()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "lost 0" in out.stdout, out.stdout
    drill_id = re.search(r"Failover drill (drill-[0-9a-z-]+)", out.stdout).group(1)
    login(browser, n2, "admin", cluster.password)
    browser.get(n2 + "/ops")
    assert "Failoverövningar" in text(browser)
    row = browser.find_element(By.ID, drill_id).text
    assert "Godkänd" in row and "transfer leadership" in row, row
    check_a11y(browser, "ops page")
    shot(browser, "20-ops-drills")
    pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert drill_id in pdf_text and "Förlorade (ska vara 0): 0" in pdf_text, pdf_text
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf),
                    os.path.join(ARTIFACTS, "21-drill-report")], check=True)


def test_a_drill_started_from_the_ops_page_runs_and_its_report_comes_back(cluster, browser):
    """An admin starts a handover drill from the /ops form on node 3; the page follows it until
    it ends, shows its progress and result, and its report is in the list with the others."""
    n3 = node_url(cluster, 2)
    login(browser, n3, "admin", cluster.password)
    browser.get(n3 + "/ops")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/ops/drill']")
    seconds = form.find_element(By.ID, "drill-seconds")
    seconds.clear()
    seconds.send_keys("3")
    check_a11y(browser, "ops page with the drill form")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Övningen har startat." in text(browser), text(browser)
    deadline = time.time() + 90
    while time.time() < deadline:
        run = browser.find_element(By.ID, "drill-run")
        if run.get_attribute("data-drill-running") == "false":
            break
        time.sleep(1)
        browser.get(n3 + "/ops")
    run = browser.find_element(By.ID, "drill-run").text
    assert "Godkänd" in run and "admin" in run, run
    assert "OK, nothing lost" in run and "writes acknowledged" in run, run
    shot(browser, "22-ops-drill-from-the-page")
    rows = browser.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=drills-h] tbody tr")
    assert len(rows) >= 2 and "transfer leadership" in rows[0].text, [r.text for r in rows]


def start_mailbox(port, folder):
    """scripts/mailbox.py (aiosmtpd, in this venv) on the demo's mail port."""
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "mailbox.py")
    proc = subprocess.Popen([sys.executable, script, "--port", str(port), "--dir", str(folder)],
                            stdout=subprocess.DEVNULL)
    deadline = time.time() + 15
    import socket
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the mailbox did not start")


def wait_for_mail(folder, n=1):
    """The summaries (N.json) of the first `n` messages the mailbox kept."""
    deadline = time.time() + 30
    while True:
        mail = [json.load(open(p)) for p in sorted(folder.glob("*.json"))]
        if len(mail) >= n or time.time() > deadline:
            return mail
        time.sleep(0.3)


def test_a_purchaser_sets_an_e_mail_channel_sends_an_order_and_sees_every_attempt(cluster, browser, tmp_path):
    n1, n2 = node_url(cluster, 0), node_url(cluster, 1)
    mail_port = int(n1.rsplit(":", 1)[1]) + 2000
    mailbox = start_mailbox(mail_port, tmp_path)
    try:
        login(browser, n1, "inkopare", cluster.password)
        browser.get(n1 + "/purchasing?tab=send")
        group = browser.find_element(By.CSS_SELECTOR, "section.supplier-group")
        supplier = group.find_element(By.TAG_NAME, "h2").text.split(" (")[0]
        assert "ingen kanal inställd ännu" in group.text, group.text
        go(browser, group.find_element(By.PARTIAL_LINK_TEXT, "Ställ in kanal"))
        assert "Beställningskanal" in text(browser)
        # A bad address is refused beside its field, with nothing saved.
        browser.find_element(By.ID, "f-to").send_keys("inte-en-adress")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
        assert browser.find_element(By.ID, "f-to").get_attribute("aria-invalid") == "true", text(browser)
        check_a11y(browser, "channel form with an error")
        field = browser.find_element(By.ID, "f-to")
        field.clear()
        field.send_keys("order@leverantor.example")
        if not browser.find_element(By.ID, "attach-csv").is_selected():
            browser.find_element(By.ID, "attach-csv").click()
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
        assert "Sparat" in text(browser), text(browser)
        shot(browser, "22-channel-form")

        browser.get(n1 + "/purchasing?tab=send")
        group = [g for g in browser.find_elements(By.CSS_SELECTOR, "section.supplier-group")
                 if g.find_element(By.TAG_NAME, "h2").text.startswith(supplier)][0]
        assert "E-post till order@leverantor.example" in group.text, group.text
        row = group.find_element(By.CSS_SELECTOR, "tbody tr")
        number = row.find_element(By.TAG_NAME, "a").text
        order_path = "/" + row.find_element(By.TAG_NAME, "a").get_attribute("href").split("/", 3)[3]
        check_a11y(browser, "purchasing page with send buttons")
        go(browser, row.find_element(By.XPATH, ".//button[starts-with(normalize-space(.), 'Skicka till leverantören')]"))
        assert "/dispatch/" in browser.current_url and "Utskicket ligger i kön" in text(browser), text(browser)
        job_url = browser.current_url.split("?")[0]
        # The leader sends it within a second or two; another node shows the same attempts.
        deadline = time.time() + 30
        while time.time() < deadline:
            browser.get(job_url.replace(n1, n2))
            if "levererat" in text(browser):
                break
            time.sleep(0.5)
        page = text(browser)
        assert "levererat" in page and "SMTP 250" in page, page
        check_a11y(browser, "dispatch job page")
        shot(browser, "23-dispatch-job")
        browser.get(n2 + "/dispatch?state=delivered")
        assert number in text(browser)
        check_a11y(browser, "dispatch queue")
        shot(browser, "24-dispatch-queue")

        summaries = wait_for_mail(tmp_path)
        assert len(summaries) == 1, summaries
        m = summaries[0]
        assert m["to"] == ["order@leverantor.example"] and number in m["subject"], m
        names = [a["name"] for a in m["attachments"]]
        assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".csv") for n in names), names
        pdf = next(tmp_path.glob("1/*.pdf"))
        pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert number in pdf_text, pdf_text
        # The order page shows its dispatch history; the order is sent.
        browser.get(n1 + order_path)
        page = text(browser)
        assert "Utskick till leverantör" in page and "levererat" in page and "Skickad" in page, page
    finally:
        mailbox.terminate()
        mailbox.wait(timeout=10)


def test_a_communicator_fills_an_update_from_a_prepared_message_and_previews_the_text(cluster, browser):
    """The update form offers prepared messages (filled with the incident's systems and the
    next update's time) and a preview of the text message subscribers get, with its segment
    count; neither changes anything until the update is posted."""
    from selenium.webdriver.support.ui import Select
    a = node_url(cluster, 1)
    api = lambda method, path, body: urllib.request.urlopen(urllib.request.Request(  # noqa: E731
        a + path, method=method, data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"}), timeout=10)
    board = json.load(urllib.request.urlopen(a + "/api/v1/status", timeout=10))

    def find_erp(v):
        if isinstance(v, dict):
            if v.get("id") == "erp" and "name" in v:
                return v
            v = list(v.values())
        if isinstance(v, list):
            for x in v:
                found = find_erp(x)
                if found:
                    return found
        return None
    system = find_erp(board)
    assert system, board
    assert api("POST", "/api/v1/status/incidents", {
        "id": "ui-tpl", "title": "Långsamt system", "impact": "minor", "systems": [system["id"]],
        "body": "Vi undersöker.", "next_update_due": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime(time.time() + 3600))}).status == 201
    try:
        login(browser, a, "kommunikator", cluster.password)
        browser.get(a + "/status/manage")
        picker = browser.find_element(By.CSS_SELECTOR, "form[action='/status/manage/template/ui-tpl']")
        Select(picker.find_element(By.NAME, "template")).select_by_value("delay")
        go(browser, picker.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        form = browser.find_element(By.CSS_SELECTOR, "form.stack[action='/status/manage/update/ui-tpl']")
        body = form.find_element(By.NAME, "body").get_attribute("value")
        assert "tar längre tid än planerat" in body and system["name"] in body, body
        stage = Select(form.find_element(By.NAME, "stage")).first_selected_option.get_attribute("value")
        assert stage == "identified", stage

        go(browser, form.find_element(By.CSS_SELECTOR, "button[name=action][value=preview]"))
        panel = browser.find_element(By.CSS_SELECTOR, "[data-preview]")
        sms = panel.find_element(By.CSS_SELECTOR, "pre").text
        assert sms.startswith("[Driftstatus] Långsamt system") and "tar längre tid" in sms, sms
        assert "/status/unsubscribe/" in sms and "GSM 7-bit" in panel.text, panel.text
        check_a11y(browser, "update form with a preview")
        shot(browser, "27-update-preview")
        updates = json.load(urllib.request.urlopen(urllib.request.Request(
            a + "/api/v1/status/incidents/ui-tpl", headers={"Authorization": f"Bearer {cluster.token}"}),
            timeout=10))["updates"]
        assert len(updates) == 1, "a template or a preview posts nothing"

        form = browser.find_element(By.CSS_SELECTOR, "form.stack[action='/status/manage/update/ui-tpl']")
        go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        assert "done=saved" in browser.current_url, text(browser)
    finally:
        api("POST", "/api/v1/status/incidents/ui-tpl/updates", {"stage": "resolved", "body": "Åtgärdat."})


def test_a_communicator_adds_a_subscriber_who_gets_the_incident_and_unsubscribes_in_one_click(
        cluster, browser, tmp_path):
    n1, n3 = node_url(cluster, 0), node_url(cluster, 2)
    mail_port = int(n1.rsplit(":", 1)[1]) + 2000
    mailbox = start_mailbox(mail_port, tmp_path)
    try:
        login(browser, n3, "kommunikator", cluster.password)
        browser.get(n3 + "/status/manage")
        go(browser, browser.find_element(By.LINK_TEXT, "Prenumeranter på driftstatus"))
        go(browser, browser.find_element(By.LINK_TEXT, "Ny prenumerant"))
        # Nothing followed: refused, and what was typed stays.
        browser.find_element(By.ID, "f-name").send_keys("Vårdcentralen Ekbacka")
        browser.find_element(By.ID, "f-address").send_keys("vc@ekbacka.example")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
        assert browser.find_element(By.ID, "f-name").get_attribute("value") == "Vårdcentralen Ekbacka"
        assert browser.find_elements(By.CSS_SELECTOR, ".error-box[role=alert]"), text(browser)
        assert browser.find_elements(By.CSS_SELECTOR, "fieldset .field-error"), text(browser)
        check_a11y(browser, "subscriber form with an error")
        system = browser.find_element(By.CSS_SELECTOR, "input[name=system]")
        system_id = system.get_attribute("value")
        system.click()
        browser.find_element(By.CSS_SELECTOR, "#f-lang option[value=nb]").click()
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))
        assert "/status/subscribers" in browser.current_url and "Vårdcentralen Ekbacka" in text(browser), text(browser)
        check_a11y(browser, "subscriber list")
        shot(browser, "25-subscribers")

        req = urllib.request.Request(n1 + "/api/v1/status/incidents", method="POST", data=json.dumps({
            "id": "ui-notice", "title": "Journalen är långsam", "impact": "minor", "systems": [system_id],
            "body": "Vi undersöker.", "next_update_due": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                        time.gmtime(time.time() + 3600))}).encode(),
            headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=10).status == 201
        mail = wait_for_mail(tmp_path)
        assert len(mail) == 1 and mail[0]["to"] == ["vc@ekbacka.example"], mail
        assert "Journalen är långsam" in mail[0]["subject"] and "Driftsstatus" in mail[0]["subject"], mail
        link = mail[0]["list_unsubscribe"].strip("<>")

        browser.delete_all_cookies()
        browser.get(link)
        assert "Vårdcentralen Ekbacka" in text(browser), text(browser)
        check_a11y(browser, "unsubscribe page")
        shot(browser, "26-unsubscribe")
        go(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
        assert "Du får inga fler utskick om driftstatus." in text(browser), text(browser)
        login(browser, n3, "kommunikator", cluster.password)
        browser.get(n3 + "/status/subscribers")
        assert "Vårdcentralen Ekbacka" not in text(browser)
        # The notice is in the queue, for communicators.
        browser.get(n3 + "/dispatch?state=delivered")
        assert "Journalen är långsam" in text(browser), text(browser)
    finally:
        mailbox.terminate()
        mailbox.wait(timeout=10)


def test_admin_makes_accounts_and_a_session_outlives_the_leader(cluster, browser):
    n1 = node_url(cluster, 0)
    login(browser, n1, "admin", cluster.password)
    for uid, name, role, unit in [("ui.inkopare", "Inga Inköpare", "purchaser", None),
                                  ("ui.personal", "Per Personal", "staff", "ekb-iva")]:
        browser.get(n1 + "/admin/users/new")
        browser.find_element(By.ID, "user_id").send_keys(uid)
        browser.find_element(By.ID, "name").send_keys(name)
        browser.find_element(By.CSS_SELECTOR, f"#role option[value={role}]").click()
        if unit:
            browser.find_element(By.ID, f"unit-{unit}").click()
            browser.find_element(By.ID, "valid_24h").click()
        browser.find_element(By.ID, "password").send_keys(cluster.password)
        check_a11y(browser, "user form")
        shot(browser, "12-user-form")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
        assert "Sparat" in text(browser), text(browser)
        assert name in text(browser)
    row = browser.find_element(By.XPATH, "//tr[td[text()='ui.personal']]").text
    assert "Intensivvårdsavdelningen" in row and "aktivt" in row, row
    check_a11y(browser, "user list")
    shot(browser, "13-users")
    browser.get(n1 + "/admin/audit")
    assert "create_user" in text(browser)
    check_a11y(browser, "audit trail")
    browser.get(n1 + "/admin/organisation")
    assert browser.find_element(By.ID, "f-name").get_attribute("value") == "Region Sjölanda"
    check_a11y(browser, "buyer organisation form")
    shot(browser, "14-organisation")

    # The new staff member logs in on the leader; the leader dies; the session goes on elsewhere.
    leader_id = cluster_json(n1)["leader_id"]
    leader = next(n for n in cluster.nodes if n["id"] == leader_id)
    login(browser, leader["http"], "ui.personal", cluster.password)
    browser.get(leader["http"] + "/orders")
    assert "Per Personal" in text(browser)
    os.kill(leader["pid"], signal.SIGKILL)
    other = next(n for n in cluster.nodes if n["id"] != leader_id)
    deadline = time.time() + 30
    while time.time() < deadline and cluster_json(other["http"]).get("leader_id") in (None, leader_id):
        time.sleep(0.25)
    browser.get(other["http"] + "/orders/new")
    assert "/login" not in browser.current_url, "the session is valid on another node"
    assert "Per Personal" in text(browser)
    assert body(browser).get_attribute("data-node-id") == str(other["id"])
    browser.find_element(By.CSS_SELECTOR, "#unit option[value=ekb-iva]").click()
    browser.find_element(By.ID, "line-0-article").send_keys("ML-44000")
    browser.find_element(By.ID, "line-0-quantity").send_keys("1")
    go(browser, submit_button(browser, "submit"))
    assert "Beställningen är inskickad" in text(browser), text(browser)


def idp_button(browser, base, idp):
    """Logged out, the login page of `base` once it offers `idp` (replication may lag): its button."""
    browser.delete_all_cookies()
    deadline = time.time() + 10
    while True:
        browser.get(base + "/login")
        found = browser.find_elements(By.CSS_SELECTOR, f"a[href^='/login/idp/{idp}']")
        if found:
            return found[0]
        assert time.time() < deadline, text(browser)
        time.sleep(0.3)


def start_idp(tmp_path, callbacks):
    """The OpenID Connect provider of the login tests (idpyoidc, scripts/test-idp), on loopback."""
    users = tmp_path / "idp-users.json"
    users.write_text(json.dumps({"kim": {"password": "kim-losen", "name": "Kim Kommunsson", "hsa_id": "SE2321000016-K1M0",
                                         "organisation": "Lunds kommun", "groups": ["iva"]}}))
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "test-idp", "oidc_idp.py")
    args = [sys.executable, script, "--port", "0", "--client-id", "beredd", "--client-secret", "ui-hemlighet-1",
            "--users", str(users)]
    for cb in callbacks:
        args += ["--redirect-uri", cb]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())["issuer"]


def test_admin_adds_an_identity_provider_and_staff_log_in_through_it(cluster, browser, tmp_path):
    # (an earlier test killed a leader: use two nodes that run)
    n1, n2 = [n["http"] for n in cluster.nodes if alive(n["pid"])][:2]
    proc, issuer = start_idp(tmp_path, [n["http"] + "/auth/oidc/lund/callback" for n in cluster.nodes])
    try:
        login(browser, n1, "admin", cluster.password)
        browser.get(n1 + "/admin/idps/new")
        for field, value in [("f-id", "lund"), ("f-name", "Lunds kommun"), ("f-issuer", issuer),
                             ("f-client_id", "beredd"), ("f-client_secret", "ui-hemlighet-1"),
                             ("f-org_attribute", "organisation"), ("f-allowed_orgs", "Lunds kommun")]:
            el = browser.find_element(By.ID, field)
            el.clear()
            el.send_keys(value)
        browser.find_element(By.ID, "f-user_attribute").clear()
        browser.find_element(By.ID, "f-user_attribute").send_keys("hsa_id")
        browser.find_element(By.ID, "f-rules").send_keys("groups | iva | staff | ekb-iva")
        check_a11y(browser, "identity provider form")
        shot(browser, "15-idp-form")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
        assert "Sparat" in text(browser), text(browser)
        browser.get(n1 + "/admin/idps")
        assert "Lunds kommun" in text(browser) and "/auth/oidc/lund/callback" in text(browser)
        check_a11y(browser, "identity provider list")

        # On another node: the button, the IdP's own login form, and back with a session.
        button = idp_button(browser, n2, "lund")
        check_a11y(browser, "login page with an identity provider")
        shot(browser, "16-login-idp")
        go(browser, button)
        assert browser.current_url.startswith(issuer), browser.current_url
        browser.find_element(By.NAME, "username").send_keys("kim")
        browser.find_element(By.NAME, "password").send_keys("kim-losen")
        go(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
        assert browser.current_url.startswith(n2), browser.current_url
        assert "Kim Kommunsson" in text(browser), text(browser)
        browser.get(n2 + "/orders/new")
        assert browser.find_elements(By.CSS_SELECTOR, "#unit option[value=ekb-iva]"), text(browser)
    finally:
        proc.terminate()
        proc.wait()


def start_saml_idp(tmp_path, sp_metadata):
    """The SAML IdP of the login tests (pysaml2 with xmlsec1, scripts/test-idp), on loopback."""
    users = tmp_path / "saml-users.json"
    users.write_text(json.dumps({"kim": {"password": "kim-losen", "name": "Kim Kommunsson", "hsa_id": "SE2321000016-K1M0",
                                         "organisation": "Lunds kommun", "groups": ["iva"]}}))
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "test-idp", "saml_idp.py")
    proc = subprocess.Popen([sys.executable, script, "--port", "0", "--sp-metadata", sp_metadata, "--users", str(users)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())


def test_admin_adds_a_saml_idp_and_staff_log_in_through_it_on_another_node(cluster, browser, tmp_path):
    n1, n2 = [n["http"] for n in cluster.nodes if alive(n["pid"])][:2]
    proc, idp = start_saml_idp(tmp_path, n1 + "/auth/saml/metadata")
    try:
        login(browser, n1, "admin", cluster.password)
        browser.get(n1 + "/admin/idps/new")
        Select(browser.find_element(By.ID, "f-kind")).select_by_value("saml")
        for field, value in [("f-id", "kommunsaml"), ("f-name", "Kommunens SAML-IdP"),
                             ("f-metadata_url", idp["metadata_url"]),
                             ("f-org_attribute", "organisation"), ("f-allowed_orgs", "Lunds kommun")]:
            el = browser.find_element(By.ID, field)
            el.clear()
            el.send_keys(value)
        browser.find_element(By.ID, "f-user_attribute").clear()
        browser.find_element(By.ID, "f-user_attribute").send_keys("hsa_id")
        browser.find_element(By.ID, "f-name_attribute").clear()
        browser.find_element(By.ID, "f-name_attribute").send_keys("urn:mace:dir:attribute-def:name")
        browser.find_element(By.ID, "f-rules").send_keys("groups | iva | staff | ekb-iva")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button.primary"))
        assert "Sparat" in text(browser), text(browser)
        # The rules tried on typed attributes, on the IdP's page.
        browser.find_element(By.ID, "f-attributes").send_keys(
            "hsa_id = SE2321000016-X1\norganisation = Lunds kommun\ngroups = iva")
        go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/test'] button"))
        assert "kommunsaml.se2321000016-x1" in browser.find_element(By.ID, "trial-outcome").text, text(browser)
        check_a11y(browser, "identity provider with a rule tried")
        browser.get(n1 + "/admin/idps")
        assert idp["entity_id"] in text(browser) and "/auth/saml/acs" in text(browser), text(browser)
        check_a11y(browser, "identity provider list with SAML")

        # On another node: the button, the IdP's login form, its signed answer posted back.
        go(browser, idp_button(browser, n2, "kommunsaml"))
        assert browser.current_url.startswith(idp["metadata_url"].rsplit("/", 1)[0]), browser.current_url
        browser.find_element(By.NAME, "username").send_keys("kim")
        browser.find_element(By.NAME, "password").send_keys("kim-losen")
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        deadline = time.time() + 10
        while not browser.current_url.startswith(n2) or "/auth/saml" in browser.current_url:
            assert time.time() < deadline, browser.current_url + " " + text(browser)
            time.sleep(0.2)
        assert "Kim Kommunsson" in text(browser), text(browser)
        browser.get(n2 + "/orders/new")
        assert browser.find_elements(By.CSS_SELECTOR, "#unit option[value=ekb-iva]"), text(browser)
    finally:
        proc.terminate()
        proc.wait()


def sms_files(cluster):
    """The texts the demo's SMSC kept (one JSON file each), oldest first."""
    folder = os.path.join(cluster.dir, "sms")
    out = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                out.append(json.load(f))
    return out


def test_a_nurse_pages_the_on_call_purchaser_who_answers_by_the_link_in_the_text(cluster, browser):
    """Everyone may page the on-call from the directory; the demo's SMSC gets the text with a
    one-time link, which (with no login) acknowledges the page; every node shows the timeline."""
    # An earlier test killed a leader: two nodes that run.
    live = [n["http"] for n in cluster.nodes if alive(n["pid"])]
    a, b = live[0], live[-1]
    login(browser, b, "sjukskoterska", cluster.password)
    browser.get(b + "/contacts")
    go(browser, browser.find_element(By.CSS_SELECTOR, "a[href='/pages?rota=inkop-jour']"))
    assert Select(browser.find_element(By.ID, "f-rota")).first_selected_option.text == "Inköp jour"
    check_a11y(browser, "paging form")
    # No message: refused beside the field, nothing raised.
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-page-form] button[type=submit]"))
    assert browser.find_element(By.ID, "f-message-error").text, text(browser)
    check_a11y(browser, "paging form with an error")
    browser.find_element(By.ID, "f-message").send_keys("Slut på CVK-set på IVA, ring 010-100 20 00")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-page-form] button[type=submit]"))
    assert "/pages/pg-" in browser.current_url, text(browser)
    page_id = browser.current_url.rsplit("/", 1)[1]
    assert "Väntar på svar" in text(browser) and "Har jour nu" in text(browser), text(browser)
    check_a11y(browser, "a page and its chain")
    shot(browser, "30-page")

    deadline = time.time() + 20
    sent = []
    while time.time() < deadline and not sent:
        sent = [m for m in sms_files(cluster) if f"/p/{page_id}/0/" in m["text"]]
        time.sleep(0.3)
    assert sent, sms_files(cluster)
    assert sent[0]["text"].startswith("[Larm] Inköp jour: Slut på CVK-set på IVA"), sent[0]
    assert sent[0]["encoding"] == "gsm7" and sent[0]["segments"] == 2, sent[0]
    link = re.search(r"https?://\S+/p/\S+", sent[0]["text"]).group(0)

    # The person on call opens the link on the phone: no login; a GET only asks.
    browser.delete_all_cookies()
    browser.get(link)
    assert "Tar du larmet från Inköp jour?" in text(browser), text(browser)
    check_a11y(browser, "acknowledging a page")
    go(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert "larmet är kvitterat" in text(browser), text(browser)

    login(browser, a, "inkopare", cluster.password)
    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(a + f"/pages/{page_id}")
        if "Kvitterat av" in text(browser):
            break
        time.sleep(0.3)
    page = text(browser)
    assert "Kvitterat av" in page and "(länk)" in page and "Avbryt larmet" not in page, page
    browser.get(a + "/pages")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-page='{page_id}']")
    assert row.get_attribute("data-state") == "acknowledged" and "sjukskoterska" in row.text, row.text
    check_a11y(browser, "the list of pages")


def test_a_unit_reports_its_situation_and_the_crisis_staff_see_it_on_another_node(cluster, browser):
    """The crisis staff start an hourly cycle; a nurse files her unit's report with the form
    (an error first: no overall status); the overview on another node shows the light, the
    needs and the next due time; staff see only their own units."""
    live = [n["http"] for n in cluster.nodes if alive(n["pid"])]
    a, b = live[0], live[-1]
    login(browser, a, "kommunikator", cluster.password)
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.main-nav a[href='/reports']"))
    check_a11y(browser, "situation reports overview")
    browser.find_element(By.ID, "f-minutes").clear()
    browser.find_element(By.ID, "f-minutes").send_keys("60")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-cycle-form] button[type=submit]"))
    assert "Rapportcykeln gäller nu" in text(browser), text(browser)
    assert "Alla sjukhus: var 60:e minut" in text(browser), text(browser)

    login(browser, b, "sjukskoterska", cluster.password)
    browser.get(b + "/reports")
    rows = browser.find_elements(By.CSS_SELECTOR, "table[data-report-overview] tbody tr")
    assert {r.get_attribute("data-unit") for r in rows} == {"ekb-iva", "ekb-akut"}, [r.text for r in rows]
    browser.get(b + "/reports/new?unit=ekb-iva")
    check_a11y(browser, "situation report form")
    browser.find_element(By.ID, "f-needs").send_keys("Syrgas, 10 flaskor")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-report-form] button[type=submit]"))
    assert browser.find_element(By.ID, "f-light-error").text, text(browser)
    assert browser.find_element(By.ID, "f-needs").get_attribute("value") == "Syrgas, 10 flaskor"
    check_a11y(browser, "situation report form with an error")
    browser.find_element(By.ID, "light-yellow").click()
    browser.find_element(By.ID, "l-staffing-yellow").click()
    browser.find_element(By.ID, "t-staffing").send_keys("Två sjuksköterskor sjuka")
    browser.find_element(By.ID, "l-power-green").click()
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-report-form] button[type=submit]"))
    assert "/reports/unit/ekb-iva" in browser.current_url, text(browser)
    assert "Gul: Två sjuksköterskor sjuka" in text(browser), text(browser)
    check_a11y(browser, "a unit's reports")
    shot(browser, "32-report-history")

    login(browser, a, "kommunikator", cluster.password)
    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(a + "/reports")
        row = browser.find_element(By.CSS_SELECTOR, "tr[data-unit='ekb-iva']")
        if row.get_attribute("data-light") == "yellow":
            break
        time.sleep(0.3)
    assert row.get_attribute("data-light") == "yellow" and "Syrgas, 10 flaskor" in row.text, row.text
    assert row.get_attribute("data-late") == "false", row.text
    shot(browser, "31-reports")


SITES = ["Ekbacka universitetssjukhus", "Norrviks länssjukhus", "Sjöby lasarett"]


def test_a_communicator_sets_a_banner_for_one_site_and_it_shows_on_that_sites_pages_only(cluster, browser):
    """The demo gives node k the k-th hospital; a banner for the site of one live node shows on
    every page it serves (also logged out, and on /status), not on another node's pages."""
    live = [n["http"] for n in cluster.nodes if alive(n["pid"])]
    a, b = live[0], live[-1]
    browser.get(b + "/status")
    site = SITES[int(body(browser).get_attribute("data-node-id")) - 1]
    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/banners")
    check_a11y(browser, "banners form")
    browser.find_element(By.ID, "f-text").send_keys("Växeln ligger nere – ring 010-100 20 00")
    Select(browser.find_element(By.ID, "f-level")).select_by_value("critical")
    box = browser.find_element(By.XPATH, f"//label[normalize-space()='{site}']")
    browser.find_element(By.ID, box.get_attribute("for")).click()
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-banner-form] button[type=submit]"))
    assert "Sparat." in text(browser) and "Växeln ligger nere" in text(browser), text(browser)
    check_a11y(browser, "banners list")
    shot(browser, "33-banners")

    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(b + "/status")
        if browser.find_elements(By.CSS_SELECTOR, "[data-banner]"):
            break
        time.sleep(0.3)
    for path in ["/status", "/contacts", "/reports", "/"]:
        browser.get(b + path)
        shown = browser.find_elements(By.CSS_SELECTOR, "[data-banner]")
        assert shown and "Växeln ligger nere" in shown[0].text and "Kritiskt" in shown[0].text, (path, text(browser))
        check_a11y(browser, f"page with a banner {path}")
    browser.get(a + "/contacts")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-banner]"), "another site's node shows no banner"
    browser.delete_all_cookies()
    browser.get(b + "/status")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-banner]"), "logged out too"
    assert site in browser.find_element(By.CSS_SELECTOR, "section[data-banners]").text

    # Ended, so that it does not show in the tests that follow.
    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/banners")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/end'] button"))
    assert "Avslutad" in text(browser), text(browser)


def test_an_exercise_is_run_its_records_are_marked_everywhere_and_cleared_afterwards(cluster, browser):
    """A communicator plans an exercise and works in it; the incident she opens is marked
    ÖVNING on the board of another node (logged out), in its feed and on the exercise's page; a
    nurse working in it files a report that the exercise's overview marks and the real one does
    not show; after the end the exercise is cleared and the real board is as before."""
    import feedparser
    from selenium.webdriver.support.ui import Select
    live = [n["http"] for n in cluster.nodes if alive(n["pid"])]
    a, b = live[0], live[-1]
    login(browser, a, "kommunikator", cluster.password)
    go(browser, browser.find_element(By.CSS_SELECTOR, "nav.main-nav a[href='/exercises']"))
    check_a11y(browser, "exercises")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-exercise-form] button[type=submit]"))
    assert browser.find_element(By.ID, "f-name-error").text, text(browser)
    browser.find_element(By.ID, "f-name").send_keys("Stabsövning elavbrott")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-exercise-form] button[type=submit]"))
    assert "Sparat." in text(browser) and "Pågår" in text(browser), text(browser)
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/join'] button"))
    band = browser.find_element(By.CSS_SELECTOR, ".exercise-mode")
    assert "Du arbetar i övningen" in band.text and "ÖVNING" in band.text, band.text
    check_a11y(browser, "a page in exercise mode")
    shot(browser, "34-exercise-mode")

    browser.get(a + "/status/manage")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/status/manage/incident']")
    form.find_element(By.NAME, "title").send_keys("Elavbrott i hus 4")
    Select(form.find_element(By.NAME, "impact")).select_by_value("minor")
    form.find_element(By.NAME, "body").send_keys("Reservkraften har startat.")
    Select(form.find_element(By.NAME, "next_in")).select_by_value("30")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "done=saved" in browser.current_url, text(browser)

    # Another node, logged out: the incident is marked, the exercise is said to be under way.
    browser.delete_all_cookies()
    deadline = time.time() + 10
    while time.time() < deadline:
        browser.get(b + "/status")
        if "Elavbrott i hus 4" in text(browser):
            break
        time.sleep(0.3)
    heading = browser.find_element(By.XPATH, "//h3[contains(., 'Elavbrott i hus 4')]")
    assert heading.find_element(By.CSS_SELECTOR, ".mark-exercise").text == "ÖVNING", heading.text
    assert "ÖVNING pågår: Stabsövning elavbrott" in text(browser), text(browser)
    check_a11y(browser, "status with an exercise incident")
    shot(browser, "35-exercise-status")
    feed = feedparser.parse(urllib.request.urlopen(b + "/status/feed.atom", timeout=5).read())
    titles = [e.title for e in feed.entries if "Elavbrott i hus 4" in e.title]
    assert titles and all(t.startswith("ÖVNING: ") for t in titles), titles

    # A nurse works in it: her report shows in the exercise's overview only.
    login(browser, b, "sjukskoterska", cluster.password)
    browser.get(b + "/exercises")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/join'] button"))
    browser.get(b + "/reports/new?unit=ekb-akut")
    browser.find_element(By.ID, "light-red").click()
    browser.find_element(By.ID, "f-needs").send_keys("Övningsbehov: 4 generatorer")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[data-report-form] button[type=submit]"))
    assert "/reports/unit/ekb-akut" in browser.current_url, text(browser)
    browser.get(b + "/reports")
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-unit='ekb-akut']")
    assert "Övningsbehov" in row.text and row.find_element(By.CSS_SELECTOR, ".mark-exercise"), row.text
    check_a11y(browser, "the exercise's report overview")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/exercises/leave'] button"))
    browser.get(b + "/reports")
    assert "Övningsbehov" not in browser.find_element(By.CSS_SELECTOR, "tr[data-unit='ekb-akut']").text

    # Ended and cleared: the records are gone, the exercise says how many.
    login(browser, a, "kommunikator", cluster.password)
    browser.get(a + "/exercises")
    go(browser, browser.find_element(By.XPATH, "//a[normalize-space()='Stabsövning elavbrott']"))
    kinds = [li.get_attribute("data-made-kind") for li in browser.find_elements(By.CSS_SELECTOR, "[data-made] li")]
    assert "incident" in kinds and "report" in kinds, kinds
    check_a11y(browser, "an exercise's page")
    shot(browser, "36-exercise")
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/end'] button"))
    go(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/clear'] button"))
    assert "poster borttagna" in browser.find_element(By.CSS_SELECTOR, "[data-cleared]").text, text(browser)
    browser.get(a + "/status")
    assert "Elavbrott i hus 4" not in text(browser) and "ÖVNING" not in text(browser), text(browser)


def network_requests(browser):
    """The URLs the browser asked for since the last call (Chrome's performance log)."""
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def test_the_offline_copy_from_ops_opens_from_a_folder_with_no_network_request(cluster, browser, tmp_path):
    """An admin takes the offline copy from /ops; unpacked into a folder it opens from file://
    in Chromium: every page renders (axe-clean) with its style sheet and no request to any
    server, the links between pages and languages work, the manifest's signature is the key
    /ops shows, and one changed byte is caught by the hashes."""
    import hashlib
    import zipfile
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.exceptions import InvalidSignature
    a = [n["http"] for n in cluster.nodes if alive(n["pid"])][0]
    login(browser, a, "admin", cluster.password)
    browser.get(a + "/ops")
    check_a11y(browser, "ops page with the offline copy")
    link = browser.find_element(By.CSS_SELECTOR, "[data-offline-copy] a[download]")
    key = browser.find_element(By.CSS_SELECTOR, "[data-copy-key]").text
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    req = urllib.request.Request(link.get_attribute("href"), headers={"Cookie": cookie})
    data = urllib.request.urlopen(req, timeout=300).read()
    folder = tmp_path / "stick"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)

    manifest_bytes = (folder / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert manifest["key"] == key, (manifest["key"], key)
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.removeprefix("ed25519:")))
    public.verify(bytes.fromhex((folder / "manifest.sig").read_text().strip()), manifest_bytes)
    try:
        public.verify(bytes.fromhex((folder / "manifest.sig").read_text().strip()), manifest_bytes.replace(b"1", b"2", 1))
        raise AssertionError("a changed manifest verified")
    except InvalidSignature:
        pass
    for f in manifest["files"]:
        assert hashlib.sha256((folder / f["path"]).read_bytes()).hexdigest() == f["sha256"], f["path"]
    changed = bytearray((folder / "directory.html").read_bytes())
    changed[100] ^= 0x20
    want = next(f["sha256"] for f in manifest["files"] if f["path"] == "directory.html")
    assert hashlib.sha256(bytes(changed)).hexdigest() != want

    network_requests(browser)  # what the pages above asked for is not this test's
    start = (folder / "index.html").as_uri()
    browser.get(start)
    assert "Kopia utan server" in text(browser), text(browser)
    header = browser.find_element(By.CSS_SELECTOR, "header.top")
    assert header.value_of_css_property("background-color") == "rgba(11, 61, 92, 1)", "the style sheet loaded"
    check_a11y(browser, "offline copy start page")
    shot(browser, "37-offline-copy")
    for page in ["Kontakter", "Jourer 7 dagar", "Handlingskort", "Öppna beställningar", "Lägesrapporter", "Start"]:
        go(browser, browser.find_element(By.XPATH, f"//header//a[normalize-space()='{page}']"))
        assert browser.current_url.startswith("file://"), browser.current_url
        assert browser.find_element(By.TAG_NAME, "h1").text, browser.current_url
        check_a11y(browser, f"offline copy: {page}")
    go(browser, browser.find_element(By.XPATH, "//a[@hreflang='en']"))
    assert browser.current_url.endswith("/en/index.html") and "Copy without a server" in text(browser)
    go(browser, browser.find_element(By.XPATH, "//header//a[normalize-space()='Open orders']"))
    first = browser.find_elements(By.CSS_SELECTOR, "a[href$='.pdf']")
    assert first, text(browser)
    assert (folder / first[0].get_attribute("href").removeprefix(folder.as_uri() + "/")).is_file()
    asked = network_requests(browser)
    assert asked and all(u.startswith("file://") for u in asked), [u for u in asked if not u.startswith("file://")]


def readyz(base):
    try:
        return json.load(urllib.request.urlopen(base + "/readyz", timeout=3))
    except OSError:
        return None


def test_ops_see_every_member_hand_leadership_over_and_a_removal_that_loses_the_majority_is_refused(
        cluster, browser):
    """On /ops every member is listed with its contact, lag, index, version and free disk; an
    admin hands leadership to the other running voter from the page; with one node of three
    down (an earlier test killed it), removing a running one is refused and nothing changes."""
    running = [n for n in cluster.nodes if alive(n["pid"])]
    down = [n for n in cluster.nodes if not alive(n["pid"])]
    assert len(running) == 2 and len(down) == 1, "an earlier test killed one node"
    a = running[0]["http"]
    login(browser, a, "admin", cluster.password)
    browser.get(a + "/ops")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-member]")
    assert len(rows) == 3, [r.text for r in rows]
    gone = browser.find_element(By.CSS_SELECTOR, f"tr[data-member='{down[0]['id']}']")
    assert gone.get_attribute("data-reachable") == "false" and "svarar inte" in gone.text, gone.text
    for n in running:
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-member='{n['id']}']")
        assert row.get_attribute("data-reachable") == "true" and "GB" in row.text, row.text
    check_a11y(browser, "ops page: members")
    shot(browser, "50-ops-members")

    leader_id = cluster_json(a)["leader_id"]
    other = next(n for n in running if n["id"] != leader_id)
    go(browser, browser.find_element(
        By.CSS_SELECTOR, f"tr[data-member='{other['id']}'] form[action$='/transfer_leader'] button"))
    assert "Klart: klustrets medlemmar har ändrats." in text(browser), text(browser)
    deadline = time.time() + 15
    while time.time() < deadline and cluster_json(a).get("leader_id") != other["id"]:
        time.sleep(0.25)
    assert cluster_json(a)["leader_id"] == other["id"]
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-member='{other['id']}']").text
    assert "ledarbyte begärt (admin)" in row, row

    # The old leader runs; without it only the new leader of the two voters left answers.
    row = f"tr[data-member='{leader_id}']"
    remove = browser.find_element(By.CSS_SELECTOR, f"{row} form[action$='/remove'] button")
    remove.click()
    assert browser.current_url.endswith("/ops?done=member_changed#members-h"), "the unticked box stops it"
    browser.find_element(By.CSS_SELECTOR, f"{row} input[name=confirm]").click()
    go(browser, browser.find_element(By.CSS_SELECTOR, f"{row} form[action$='/remove'] button"))
    assert "not a majority" in text(browser), text(browser)
    check_a11y(browser, "a refused removal")
    assert sorted(cluster_json(a)["voters"]) == sorted(n["id"] for n in cluster.nodes)


def test_ops_invite_a_node_that_joins_catches_up_is_promoted_and_then_revoked(cluster, browser, tmp_path):
    """An admin invites a fourth node on /ops; the command shown (also as a QR code), run in an
    empty folder, joins it and shows its catch-up; the page lists it as a read-only replica,
    promotes it, and revoking its certificate there removes it again (one demo node is down,
    so the majority must hold throughout)."""
    running = [n for n in cluster.nodes if alive(n["pid"])]
    a = running[0]["http"]
    login(browser, a, "admin", cluster.password)
    browser.get(a + "/ops#invitations-h")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/ops/invitations']")
    form.find_element(By.ID, "invite-name").send_keys("laptop-akuten")
    check_a11y(browser, "ops page: invite a node")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    command = browser.find_element(By.CSS_SELECTOR, "[data-invite-command]").get_attribute("value").strip()
    assert command.startswith("beredd join --dir beredd-node4 beredd-invite-1."), command
    qr = browser.find_element(By.CSS_SELECTOR, "[data-invite-qr] svg")
    assert qr.size["width"] >= 200, qr.size
    check_a11y(browser, "the invitation shown once")
    shot(browser, "51-ops-invitation")

    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    args = command.split()[1:]
    joined = subprocess.Popen([beredd, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=open(tmp_path / "join.err", "w"), text=True)
    try:
        said = joined.stdout.readline()
        assert "has caught up" in said, said + (tmp_path / "join.err").read_text()
        progress = (tmp_path / "join.err").read_text()
        assert "matches the invitation" in progress and "catching up:" in progress, progress
        four = re.search(r"serves at (http://[0-9.:]+)/", said).group(1)

        browser.get(a + "/ops")
        row = browser.find_element(By.CSS_SELECTOR, "tr[data-member='4']")
        assert row.get_attribute("data-role") == "ops.learner" and row.get_attribute("data-reachable") == "true", row.text
        invitation = browser.find_element(By.CSS_SELECTOR, "tr[data-invitation='4']")
        assert invitation.get_attribute("data-state") == "used", invitation.text
        go(browser, browser.find_element(By.CSS_SELECTOR, "tr[data-member='4'] form[action$='/promote'] button"))
        assert "Klart: klustrets medlemmar har ändrats." in text(browser), text(browser)
        deadline = time.time() + 20
        while time.time() < deadline and 4 not in cluster_json(four).get("voters", []):
            time.sleep(0.25)
        assert 4 in cluster_json(four)["voters"], cluster_json(four)
        check_a11y(browser, "ops page with a joined node")
        shot(browser, "52-ops-joined-node")

        # Its certificate revoked from the page: removed from the members, the majority kept.
        go(browser, browser.find_element(By.CSS_SELECTOR, "tr[data-invitation='4'] form button"))
        assert "Klart: inbjudan är återkallad." in text(browser), text(browser)
        deadline = time.time() + 20
        while time.time() < deadline and 4 in cluster_json(a).get("voters", []):
            time.sleep(0.25)
        assert 4 not in cluster_json(a)["voters"] and 4 not in cluster_json(a)["learners"], cluster_json(a)
        assert browser.find_element(By.CSS_SELECTOR, "tr[data-invitation='4']").get_attribute("data-state") == "revoked"
    finally:
        joined.kill()
        joined.wait()


def test_zz_with_two_nodes_killed_the_survivor_serves_every_page_and_queues_orders(cluster, browser):
    running = [n for n in cluster.nodes if alive(n["pid"])]
    survivor = running[-1]["http"]
    login(browser, survivor, "sjukskoterska", cluster.password)
    browser.get(survivor + "/orders?status=open")
    an_order = browser.find_element(By.CSS_SELECTOR, "table.list tbody tr td a").get_attribute("href")
    for n in running[:-1]:
        try:
            os.kill(n["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass  # it ended (and was reaped) since we looked
    deadline = time.time() + 30
    while time.time() < deadline and (readyz(survivor) or {}).get("quorum", True):
        time.sleep(0.25)
    assert readyz(survivor)["quorum"] is False
    for path, name in [("/", "10-no-quorum-home"), ("/catalog?q=handske", None), ("/orders", None),
                       (an_order, None), ("/orders/new", None)]:
        url = path if path.startswith("http") else survivor + path
        browser.get(url)
        assert body(browser).get_attribute("data-quorum") == "lost", url
        banner = browser.find_element(By.CSS_SELECTOR, ".banner.no-quorum")
        assert "når inte majoriteten" in banner.text
        assert "Något gick fel" not in text(browser), url
        if name:
            check_a11y(browser, "page without quorum")
            shot(browser, name)
    # A new order is queued here: the page says so, lists it, and its PDF prints at once.
    browser.get(survivor + "/orders/new")
    browser.find_element(By.CSS_SELECTOR, "#unit option[value=ekb-iva]").click()
    browser.find_element(By.ID, "line-0-article").send_keys("ML-44000")
    browser.find_element(By.ID, "line-0-quantity").send_keys("3")
    go(browser, submit_button(browser, "save"))
    assert "/outbox?done=queued" in browser.current_url, text(browser)
    assert "Köad här – ännu inte delad med de andra sjukhusen" in text(browser), text(browser)
    item = browser.find_element(By.CSS_SELECTOR, "article.outbox-item.fate-queued")
    assert "Ny beställning för" in item.text and "3" in item.text, item.text
    check_a11y(browser, "outbox page")
    shot(browser, "11-no-quorum-queued")
    pdf = os.path.join(ARTIFACTS, "11-queued-order.pdf")
    with open(pdf, "wb") as f:
        f.write(fetch_link(browser, "PDF"))
    printed = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "KÖAD HÄR, EJ BEKRÄFTAD AV KLUSTRET" in printed, printed

    # Sending to a supplier cannot be queued here: the purchaser is told so, downloads the files
    # and marks the order sent by hand, which waits in this node's outbox.
    login(browser, survivor, "inkopare", cluster.password)
    browser.get(survivor + "/purchasing?tab=send")
    page = text(browser)
    assert page.count("inget kan läggas i utskickskön") == 1, page
    assert not browser.find_elements(By.XPATH, "//button[starts-with(normalize-space(.), 'Skicka')]"), page
    check_a11y(browser, "purchasing page without quorum")
    row = browser.find_element(By.CSS_SELECTOR, "section.supplier-group tbody tr")
    number = row.find_element(By.TAG_NAME, "a").text
    go(browser, row.find_element(By.XPATH, ".//button[starts-with(normalize-space(.), 'Markera skickad')]"))
    assert "/outbox?done=queued" in browser.current_url, text(browser)
    assert f"Markering som skickad för beställning {number}" in text(browser), text(browser)


def test_zzz_two_accounts_turn_the_lone_survivor_into_a_new_cluster_which_takes_a_new_node(
        cluster, browser, tmp_path):
    """After test_zz killed two nodes for good: on the survivor's /ops the admin reads what
    break-glass recovery means here and confirms; the page waits for a second account; the
    demo's ops person confirms too; the node restarts itself as the only voter with every
    record, says how to go on, takes a new node by invitation, and an old node started again
    with its data is refused and says why."""
    running = [n for n in cluster.nodes if alive(n["pid"])]
    assert len(running) == 1, "test_zz left one node running"
    s = running[0]["http"]
    orders_before = json.load(urllib.request.urlopen(urllib.request.Request(
        s + "/api/v1/orders?limit=500", headers={"Authorization": f"Bearer {cluster.token}"}), timeout=10))["items"]
    login(browser, s, "admin", cluster.password)
    deadline = time.time() + 30
    while True:
        browser.get(s + "/ops")
        glass = browser.find_element(By.CSS_SELECTOR, "section[data-break-glass]")
        if glass.get_attribute("data-allowed") == "true" or time.time() > deadline:
            break
        time.sleep(1)
    assert glass.get_attribute("data-allowed") == "true", glass.text
    assert "utan majoritet i klustret" in glass.text and "Inget av deras slås ihop automatiskt" in glass.text, glass.text
    check_a11y(browser, "ops page: break-glass explained")
    shot(browser, "53-ops-break-glass")
    form = glass.find_element(By.CSS_SELECTOR, "form[action='/ops/break-glass']")
    form.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Din bekräftelse är sparad på denna nod" in text(browser), text(browser)
    pending = browser.find_element(By.CSS_SELECTOR, "[data-glass-pending]").text
    assert "admin bekräftade" in pending, pending
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action='/ops/break-glass']"), "not twice by one account"
    check_a11y(browser, "ops page: waiting for a second account")

    login(browser, s, "drift", cluster.password)
    browser.get(s + "/ops#glass-h")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/ops/break-glass']")
    assert "Andra bekräftelsen" in form.text, form.text
    form.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Båda har bekräftat" in text(browser), text(browser)
    deadline = time.time() + 60
    while time.time() < deadline:
        st = readyz(s) or {}
        if st.get("quorum") is True:
            break
        time.sleep(0.5)
    c = cluster_json(s)
    assert c["role"] == "leader" and c["voters"] == [running[0]["id"]], c
    assert alive(running[0]["pid"]), "the same process runs on"
    orders_after = json.load(urllib.request.urlopen(urllib.request.Request(
        s + "/api/v1/orders?limit=500", headers={"Authorization": f"Bearer {cluster.token}"}), timeout=10))["items"]
    assert {o["id"] for o in orders_before} <= {o["id"] for o in orders_after}, "every order kept"

    login(browser, s, "drift", cluster.password)
    browser.get(s + "/ops")
    founded = browser.find_element(By.CSS_SELECTOR, "[data-glass-founded]").text
    assert "bekräftat av admin, drift" in founded, founded
    assert body(browser).get_attribute("data-quorum") != "lost"
    check_a11y(browser, "ops page after break-glass")
    shot(browser, "54-ops-new-cluster")

    # The next node, by invitation, as the page says.
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/ops/invitations']")
    form.find_element(By.ID, "invite-name").send_keys("laptop-reserv")
    go(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    command = browser.find_element(By.CSS_SELECTOR, "[data-invite-command]").get_attribute("value").strip()
    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    joined = subprocess.Popen([beredd, *command.split()[1:]], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=open(tmp_path / "join.err", "w"), text=True)
    try:
        said = joined.stdout.readline()
        assert "has caught up" in said, said + (tmp_path / "join.err").read_text()
        node = int(re.search(r"Node (\d+) has caught up", said).group(1))
        browser.get(s + "/ops")
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-member='{node}']")
        assert row.get_attribute("data-reachable") == "true", row.text

        # An old node started again with its old data is refused and says why.
        old = next(n for n in cluster.nodes if n["id"] != running[0]["id"])
        again = subprocess.run([beredd, "serve", "--config", old["config"]], capture_output=True, text=True,
                               timeout=90, env=dict(os.environ, BEREDD_CLUSTER_BREAK_GLASS_AFTER_S="5"))
        said = again.stdout + again.stderr
        assert again.returncode != 0 and f"node {old['id']} was retired from this cluster" in said, said
    finally:
        joined.kill()
        joined.wait()


class CardBrowser:
    """A headless Chromium whose NSS database holds a card (a PKCS#12 file: certificate and key)
    and trusts `web_ca`, with the AutoSelectCertificateForUrls policy that lets it present the
    card to `base` without a dialog. Use as a context manager; the policy file is removed after."""

    POLICY_DIR = "/etc/chromium/policies/managed"

    def __init__(self, tmp_path, p12, password, web_ca, base):
        self.tmp, self.p12, self.password, self.web_ca, self.base = tmp_path, p12, password, web_ca, base
        self.policy = os.path.join(self.POLICY_DIR, f"beredd-card-test-{base.rsplit(':', 1)[1]}.json")
        self.driver = None

    def __enter__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        try:
            os.makedirs(self.POLICY_DIR, exist_ok=True)
        except PermissionError:
            raise AssertionError("the card tests write a Chromium policy: run the browser tests as root (as CI does)")
        run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
        home = self.tmp / "home"
        nss = f"sql:{home}/.pki/nssdb"
        os.makedirs(home / ".pki" / "nssdb")
        run("certutil", "-N", "-d", nss, "--empty-password")
        run("pk12util", "-i", str(self.p12), "-d", nss, "-W", self.password)
        run("certutil", "-A", "-n", "beredd-web-ca", "-t", "C,,", "-i", str(self.web_ca), "-d", nss)
        with open(self.policy, "w") as f:
            json.dump({"AutoSelectCertificateForUrls": [json.dumps({"pattern": self.base, "filter": {}})]}, f)
        opts = webdriver.ChromeOptions()
        opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--window-size=1280,1000", "--lang=en-GB",
                    f"--user-data-dir={self.tmp / 'profile'}"]:
            opts.add_argument(arg)
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"), env=dict(os.environ, HOME=str(home)))
        self.driver = webdriver.Chrome(service=service, options=opts)
        return self.driver

    def __exit__(self, *exc):
        if self.driver is not None:
            self.driver.quit()
        if os.path.exists(self.policy):
            os.remove(self.policy)


def test_a_card_logs_in_through_the_button_in_chromium(tmp_path):
    """A smart card in a real browser: a node serving HTTPS with a card CA (`http.client_ca`)
    and a Chromium holding the card (see CardBrowser). The "Log in with card" button ends in a
    session of the card's account."""
    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    web_ca, card_ca = tmp_path / "web-ca", tmp_path / "card-ca"
    run(beredd, "certs", "init", "--dir", str(web_ca))
    run(beredd, "certs", "issue", "--dir", str(web_ca), "--name", "web", "--host", "127.0.0.1")
    run(beredd, "certs", "init", "--dir", str(card_ca))
    run(beredd, "certs", "issue", "--dir", str(card_ca), "--name", "kortanna", "--role", "card")
    http_port, grpc_port = free_port(), free_port()
    base = f"https://127.0.0.1:{http_port}"
    config = tmp_path / "node.toml"
    config.write_text(f"""[node]
id = 1
data_dir = "data"
[http]
listen = "127.0.0.1:{http_port}"
advertise = "{base}"
tls_cert = "{web_ca}/web.pem"
tls_key = "{web_ca}/web-key.pem"
client_ca = "{card_ca}/ca.pem"
[grpc]
listen = "127.0.0.1:{grpc_port}"
advertise = "127.0.0.1:{grpc_port}"
[cluster]
bootstrap = true
[[cluster.members]]
id = 1
http = "{base}"
grpc = "127.0.0.1:{grpc_port}"
""")
    node = subprocess.Popen([beredd, "serve", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "node.log", "w"))
    try:
        deadline = time.time() + 30
        while True:
            made = subprocess.run([beredd, "user", "create", "--node", f"127.0.0.1:{grpc_port}", "--id", "kortanna",
                                   "--name", "Anna Kortsson", "--role", "admin"], capture_output=True, text=True)
            if made.returncode == 0:
                break
            assert time.time() < deadline, made.stderr + (tmp_path / "node.log").read_text()
            time.sleep(0.5)
        run("openssl", "pkcs12", "-export", "-in", str(card_ca / "kortanna.pem"), "-inkey",
            str(card_ca / "kortanna-key.pem"), "-out", str(tmp_path / "card.p12"), "-passout", "pass:")
        with CardBrowser(tmp_path, tmp_path / "card.p12", "", web_ca / "ca.pem", base) as driver:
            driver.get(base + "/login?next=/account")
            button = driver.find_element(By.CSS_SELECTOR, "form[action='/login/card'] button")
            check_a11y(driver, "login page with the card button")
            go(driver, button)
            assert driver.current_url == base + "/account", driver.current_url + " " + text(driver)
            assert "Anna Kortsson" in text(driver), text(driver)
    finally:
        node.terminate()
        node.wait()


def test_the_https_demo_lets_its_card_log_in(tmp_path):
    """`beredd demo --https` (what `make demo DEMO_FLAGS=--https` runs): three nodes over HTTPS,
    seeded over HTTPS, with the unit nurse's card as a PKCS#12 file; that file, imported into
    Chromium as the demo tells a user to, logs in as the nurse on any node."""
    beredd = os.environ.get("BEREDD", DEFAULT_BEREDD)
    demo = DemoCluster(beredd, int(os.environ.get("UI_HTTPS_BASE_PORT", "17281")), prefix="beredd-https-", extra=["--https", "--mail-port", "0"])
    try:
        node2 = demo.nodes[1]["http"]
        assert node2.startswith("https://"), demo.nodes
        tls = os.path.join(demo.dir, "tls")
        p12 = os.path.join(tls, "card-sjukskoterska.p12")
        with CardBrowser(tmp_path, p12, "demo", os.path.join(tls, "web", "ca.pem"), node2) as driver:
            driver.get(node2 + "/login?next=/account")
            go(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/login/card'] button"))
            assert driver.current_url == node2 + "/account", driver.current_url + " " + text(driver)
            assert "Sara Sjuksköterska" in text(driver), text(driver)
    finally:
        demo.stop()

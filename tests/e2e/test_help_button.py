"""The embeddable help button (preset 003, whose regulation opens requests through "the Help
button request form in the product's header"): a product page elsewhere includes the desk's
script; Help opens the request form in a new tab with the page's address, and the request
registered from it carries that address."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from regdesk.tickets.models import Message, Status, Ticket
from tests.desk.factories import OrganisationFactory, PersonFactory, make_desk
from tests.e2e.browser import Screenshots

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme CRM · Invoices</title></head>
<body style="font: 16px system-ui, sans-serif; margin: 2rem">
  <header><strong>Acme CRM</strong> · Accounts › 4711 › Invoices</header>
  <main><h1>Overdue invoices</h1><p>The export button does nothing.</p></main>
  <script src="{widget}" async></script>
</body></html>
"""


class ProductSite:
    """The customer's own product on another origin (its own small server on 127.0.0.1): a page
    there includes the desk's script. Chromium lets a page load a script from the loopback
    address only from the loopback address space, so the page is served for real, not
    intercepted."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.pages.get(urlsplit(self.path).path)
                data = (body or "Not found").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path_and_query: str, html: str) -> str:
        self.pages[urlsplit(path_and_query).path] = html
        return self.url + path_and_query


@pytest.fixture
def product_site() -> Iterator[ProductSite]:
    site = ProductSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


def _form_page_after_sign_in(login_url: str) -> str:
    """The ``page`` the form will get once the sign-in page sends the customer on."""
    (next_url,) = parse_qs(urlsplit(login_url).query)["next"]
    assert urlsplit(next_url).path == "/portal/desks/service-desk/new/"
    (page,) = parse_qs(urlsplit(next_url).query)["page"]
    return page


def test_help_button_opens_the_form_with_the_page_address(
    people, live_server, settings, product_site
) -> None:
    # The script writes the form's absolute address from the site's public URL.
    settings.BASE_URL = live_server.url
    base = live_server.url
    shot = Screenshots("service-desk")
    desk = make_desk("service-desk", prefix="SD")
    company = OrganisationFactory(name="Acme Ltd")
    company.desks.add(desk)
    requester = PersonFactory(
        organisation=company,
        full_name="Dana Scully",
        user__first_name="Dana",
        user__last_name="Scully",
        email="dana@acme.example",
    )

    widget = f"{base}/portal/widget/{desk.slug}.js"
    product_page = product_site.page(
        "/accounts/4711/invoices?tab=overdue", PRODUCT_HTML.format(widget=widget)
    )
    user = people(zone="Europe/London")
    context = user.context

    # The product page gets a Help button from the desk's script.
    page = user.page
    page.goto(product_page)
    help_button = page.locator(f"#regdesk-help-{desk.slug}")
    expect(help_button).to_be_visible()
    expect(help_button).to_have_text("Help")
    expect(help_button).to_have_attribute("type", "button")
    shot(page, "product page with help button")

    # Help opens the desk's form in a new tab; not signed in yet, the customer signs in first
    # and lands on the form, with the product page's address kept all the way.
    with context.expect_page() as opened:
        help_button.click()
    form_tab = user.watch(opened.value)
    form_tab.wait_for_load_state()
    expect(form_tab).to_have_url(re.compile(rf"^{re.escape(base)}/portal/login/\?next="))
    assert _form_page_after_sign_in(form_tab.url) == product_page
    assert form_tab.evaluate("window.opener") is None
    shot(form_tab, "help opens sign in in a new tab")

    sign_in = form_tab.locator("form[action$='/portal/login/']")
    sign_in.locator("input[name=username]").fill("dana@acme.example")
    sign_in.locator("input[name=password]").fill("secret-pass-123")
    sign_in.locator("button[type=submit]").click()
    form_tab.wait_for_url(f"{base}/portal/desks/{desk.slug}/new/?page=*")
    form = form_tab.locator("form.request-form")
    expect(form.locator("input[type=hidden][name=page]")).to_have_value(product_page)
    shot(form_tab, "request form from help button")

    # The address survives choosing the type (an htmx swap of the form's details).
    form_tab.get_by_label("Incident").check()
    expect(form.locator("input[name=subject]")).to_be_visible()
    expect(form.locator("input[type=hidden][name=page]")).to_have_value(product_page)
    form.locator("input[name=subject]").fill("Export of overdue invoices does nothing")
    form.locator("textarea[name=body]").fill(
        "Clicking Export on the overdue invoices tab shows no file and no error."
    )
    form.locator("input[name=proposed_priority][value=medium]").check()
    shot(form_tab, "incident form filled")
    form.locator("button[type=submit]").click()
    form_tab.wait_for_url(f"{base}/portal/requests/**")

    ticket = Ticket.objects.get(desk=desk)
    assert ticket.channel == "widget"
    assert ticket.status == Status.NEW
    assert ticket.requester == requester
    assert ticket.priority == "medium"
    first = ticket.messages.get(kind=Message.Kind.CUSTOMER)
    assert first.body.endswith(f"Opened from: {product_page}")
    customer_said = form_tab.locator(".timeline .message.from-customer .body")
    expect(customer_said).to_contain_text(f"Opened from: {product_page}")
    expect(form_tab.locator(".ticket-head .ref")).to_have_text(ticket.reference)
    shot(form_tab, "ticket registered with page address")

    # The product page itself stayed where it was.
    expect(page).to_have_url(product_page)
    assert user.errors == []


def test_help_button_uses_the_pages_own_element(
    people, live_server, settings, product_site
) -> None:
    """A page may place its own element with data-regdesk-help instead of the floating button."""
    settings.BASE_URL = live_server.url
    base = live_server.url
    desk = make_desk("service-desk", prefix="SD")
    user = people(zone="UTC")
    product_page = product_site.page(
        "/settings",
        '<!doctype html><html><body><nav><a href="#" data-regdesk-help>Support</a></nav>'
        f'<script src="{base}/portal/widget/{desk.slug}.js"></script></body></html>',
    )
    page = user.page
    page.goto(product_page)
    expect(page.locator("a[data-regdesk-help]")).to_be_visible()
    with user.context.expect_page() as opened:
        page.locator("a[data-regdesk-help]").click()
    tab = user.watch(opened.value)
    tab.wait_for_load_state()
    expect(tab).to_have_url(re.compile(rf"^{re.escape(base)}/portal/login/\?next="))
    assert _form_page_after_sign_in(tab.url) == product_page
    expect(page.locator(f"#regdesk-help-{desk.slug}")).to_have_count(0)
    assert user.errors == []

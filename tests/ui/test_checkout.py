"""The storefront's checkout, order, orders, notifications and account pages,
driven in Chromium against `jojomart dev` and its payment simulator.

Sign-in and the cart are set up through the API (the sign-in and cart pages
are not what these tests are about): a registered shopper's session goes into
localStorage the way `api.js` keeps it, a guest's anonymous cart id likewise.
"""

import json
import re
import time
import urllib.request
import uuid

from playwright.sync_api import Page, expect

from conftest import PASSWORD, check, unique_email

CARD = {
    "visa": "Visa: the payment succeeds",
    "declined": "Declined card: the bank says no",
    "3ds": "3-D Secure card: your bank asks you to confirm",
}


def eventually(what: str, probe, timeout: float = 20.0):
    """Polls `probe()` until it answers something truthy (setup waits, not assertions)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stocked_product(shop, stock: int = 20, price: int = 1999) -> dict:
    sku = f"UI-{uuid.uuid4().hex[:8]}"
    status, body = shop.call(
        "POST",
        "/api/products",
        {"sku": sku, "name": f"Teapot {sku}", "description": "A teapot", "category": "kitchen",
         "unitPrice": price, "currency": "EUR", "stock": stock},
        token=shop.admin_token(),
    )
    assert status == 201, body
    return body


def signed_in(page: Page, shop, name: str = "Ada Shopper") -> dict:
    """Registers through the API and puts the session in the page's localStorage."""
    email = unique_email()
    status, auth = shop.call("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name})
    assert status == 201, auth
    page.goto("/")
    page.evaluate(
        "s => localStorage.setItem('jojomart.session', JSON.stringify(s))",
        {"user": auth["user"], "accessToken": auth["accessToken"], "refreshToken": auth["refreshToken"]},
    )
    return {"email": email, "token": auth["accessToken"]}


def add_to_cart(shop, token: str, product: dict, quantity: int = 1):
    status, body = shop.call("POST", "/api/cart/items", {"productId": product["id"], "quantity": quantity}, token=token)
    assert status == 200, body


def save_address(shop, token: str, name: str = "Ada Lovelace") -> dict:
    status, body = shop.call(
        "POST", "/api/users/me/addresses",
        {"name": name, "line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "GB"},
        token=token,
    )
    assert status == 201, body
    return body


def anonymous_cart(shop, product: dict, quantity: int = 1) -> str:
    """Fills a new anonymous cart through the API; its X-Cart-Id."""
    req = urllib.request.Request(
        shop.url("/api/cart/items"),
        data=json.dumps({"productId": product["id"], "quantity": quantity}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        return r.headers["X-Cart-Id"]


def fill_address(page: Page, postal_code: str = "20457", country: str = "DE"):
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Street and number").fill("1 Harbour Street")
    page.get_by_label("Postal code").fill(postal_code)
    page.get_by_label("City").fill("Hamburg")
    page.get_by_label("Country").fill(country)


def order_status(page: Page):
    return page.get_by_test_id("order-status")


def test_a_signed_in_checkout_with_a_saved_address_and_visa_shows_the_paid_order(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product, 2)
    saved = save_address(shop, me["token"])

    page.goto("/checkout")
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    expect(page.get_by_role("complementary")).to_contain_text(product["name"])
    expect(page.get_by_label(re.compile("12 St James's Square"))).to_be_checked()
    check(page, "checkout-signed-in")
    page.get_by_label(CARD["visa"]).check()
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(page.get_by_text("Thank you for your order!")).to_be_visible()
    expect(order_status(page)).to_have_text("Paid")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li")).to_have_count(2)
    expect(timeline).to_contain_text("Awaiting payment")
    expect(timeline).to_contain_text("Paid")
    expect(page.get_by_role("region", name="Shipping to")).to_contain_text(saved["line1"])
    expect(page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("€")
    check(page, "order-paid")
    # The cart was emptied by the purchase, and the header says so.
    expect(page.get_by_role("link", name="Cart", exact=True)).to_be_visible()

    page.get_by_role("link", name="All your orders").click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_contain_text("Paid")
    check(page, "orders-list")


def test_a_declined_card_shows_the_reason_keeps_a_failed_order_and_another_card_pays(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)
    save_address(shop, me["token"])

    page.goto("/checkout")
    page.get_by_label(CARD["declined"]).check()
    page.get_by_role("button", name="Place order").click()
    alert = page.locator("form .form-message")
    expect(alert).to_contain_text("Your payment was declined")
    expect(alert).to_contain_text("generic_decline")
    check(page, "checkout-declined")
    status, orders = shop.call("GET", "/api/orders", token=me["token"])
    assert [o["status"] for o in orders["items"]] == ["payment_failed"], orders

    # The cart is unchanged: the same page, another card.
    page.get_by_label(CARD["visa"]).check()
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(order_status(page)).to_have_text("Paid")

    page.goto("/orders")
    rows = page.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two orders, newest first
    expect(rows.nth(1)).to_contain_text("Paid")
    expect(rows.nth(2)).to_contain_text("Payment failed")
    check(page, "orders-with-a-failed-one")


def test_a_lost_answer_then_place_order_again_places_one_order_with_the_same_key(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)
    save_address(shop, me["token"])
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the shop places the order...
            route.abort()  # ...but its answer never reaches the browser
        else:
            route.continue_()

    page.route("**/api/orders", lose_the_first_answer)
    page.goto("/checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("form .form-message")).to_contain_text("will not be placed twice")
    check(page, "checkout-network-error")
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(order_status(page)).to_have_text("Paid")
    assert len(keys) == 2 and keys[0] == keys[1], keys
    _, orders = shop.call("GET", "/api/orders", token=me["token"])
    assert len(orders["items"]) == 1, orders


def test_three_d_secure_goes_to_the_bank_page_and_comes_back_to_the_paid_order(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)

    page.goto("/checkout")
    # No saved address yet: the new-address form, saved to the address book.
    fill_address(page)
    expect(page.get_by_label("Save to my address book")).to_be_checked()
    page.get_by_label(CARD["3ds"]).check()
    check(page, "checkout-new-address")
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/3ds/"))
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+"))
    expect(order_status(page)).to_have_text("Paid", timeout=20_000)
    expect(page.locator("ol.timeline")).to_contain_text("Paid")
    assert "client_secret" not in page.url
    check(page, "order-paid-after-3ds")
    _, me_now = shop.call("GET", "/api/users/me", token=me["token"])
    assert [a["postalCode"] for a in me_now["addresses"]] == ["20457"]


def test_an_order_awaiting_3ds_shows_it_and_updates_itself_once_the_payment_is_confirmed(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)
    address = {"name": "Grace Hopper", "line1": "1 Harbour Street", "city": "Hamburg", "postalCode": "20457", "country": "DE"}
    status, order = shop.call(
        "POST", "/api/orders", {"shippingAddress": address, "paymentMethod": "pm_card_threeDSecure2Required"},
        token=me["token"], headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, order
    bank_page = order["payment"]["nextAction"]["redirectUrl"]

    page.goto(f"/orders/{order['id']}")
    expect(order_status(page)).to_have_text("Awaiting payment")
    expect(page.get_by_role("status").filter(has_text="Waiting for the payment to be confirmed")).to_be_visible()
    expect(page.get_by_role("link", name="Confirm the payment with your bank")).to_have_attribute("href", bank_page)
    check(page, "order-awaiting-3ds")
    # The shopper confirms on the bank's page elsewhere; this page notices by itself.
    confirm = urllib.request.Request(bank_page, data=b"action=complete", method="POST")
    with urllib.request.urlopen(confirm, timeout=30) as r:
        assert r.status == 200
    expect(order_status(page)).to_have_text("Paid", timeout=14_000)
    expect(page.get_by_role("status").filter(has_text="Your payment is confirmed.")).to_be_visible()


def test_a_guest_checks_out_with_an_email_and_sees_the_order(page, shop):
    product = stocked_product(shop)
    cart = anonymous_cart(shop, product, 1)
    page.goto("/")
    page.evaluate("id => localStorage.setItem('jojomart.cart', JSON.stringify(id))", cart)

    page.goto("/checkout")
    expect(page.get_by_text("Checking out as a guest.")).to_be_visible()
    email = unique_email("guest")
    page.get_by_label("Email").fill(email)
    fill_address(page)
    check(page, "checkout-guest")
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(order_status(page)).to_have_text("Paid")
    expect(page.get_by_text(f"A confirmation goes to {email}.")).to_be_visible()
    check(page, "order-guest")
    # Reloading still shows it: the guest's order token is kept in this browser.
    page.reload()
    expect(order_status(page)).to_have_text("Paid")


def test_an_address_field_error_shows_next_to_its_field(page, shop):
    product = stocked_product(shop)
    cart = anonymous_cart(shop, product, 1)
    page.goto("/")
    page.evaluate("id => localStorage.setItem('jojomart.cart', JSON.stringify(id))", cart)

    page.goto("/checkout")
    page.get_by_label("Email").fill(unique_email("guest"))
    fill_address(page, postal_code="", country="XX")
    page.get_by_role("button", name="Place order").click()

    postal = page.get_by_label("Postal code")
    expect(postal).to_have_attribute("aria-invalid", "true")
    expect(postal).to_have_accessible_description(re.compile(r"\w"))
    expect(postal).to_be_focused()
    country = page.get_by_label("Country")
    expect(country).to_have_attribute("aria-invalid", "true")
    expect(country).to_have_accessible_description(re.compile("ISO 3166"))
    expect(page.get_by_label("City")).not_to_have_attribute("aria-invalid", "true")
    check(page, "checkout-field-errors")
    status, orders = shop.call("GET", "/api/cart", headers={"X-Cart-Id": cart})
    assert status == 200 and orders["items"], "the cart is untouched"


def test_the_order_mail_appears_on_the_notifications_page(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)
    save_address(shop, me["token"])
    page.goto("/checkout")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))

    # The mail is sent by the `send-notifications` queue function, which the
    # dev host runs as the outbox relays the order's events.
    eventually(
        "the order mail",
        lambda: any(n["kind"] == "order.placed" for n in shop.call("GET", "/api/notifications", token=me["token"])[1]["items"]),
    )
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Order placed")
    check(page, "notifications")


def test_cancelling_a_paid_order_asks_first_and_shows_it_cancelled(page, shop):
    me = signed_in(page, shop)
    product = stocked_product(shop)
    add_to_cart(shop, me["token"], product)
    save_address(shop, me["token"])
    page.goto("/checkout")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(order_status(page)).to_have_text("Paid")

    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text("Cancel this order?")).to_be_visible()
    expect(page.get_by_role("button", name="Keep the order")).to_be_focused()
    check(page, "order-cancel-confirm")
    page.get_by_role("button", name="Keep the order").click()
    expect(order_status(page)).to_have_text("Paid")
    # Asked again, and answered from the keyboard this time.
    page.get_by_role("button", name="Cancel order").click()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Yes, cancel the order")).to_be_focused()
    page.keyboard.press("Enter")

    expect(order_status(page)).to_have_text("Cancelled")
    expect(page.locator("ol.timeline li").last).to_contain_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Your order is cancelled")).to_be_visible()
    expect(page.get_by_text("Thank you for your order!")).to_have_count(0)
    check(page, "order-cancelled")


def test_the_account_page_edits_addresses_and_preferences_exports_and_deletes(page, shop):
    me = signed_in(page, shop)
    page.goto("/account")
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    expect(page.get_by_text("No saved addresses yet.")).to_be_visible()
    check(page, "account")

    # Add an address, then delete it.
    fill_address(page)
    page.get_by_role("button", name="Add address").click()
    delete = page.get_by_role("button", name=re.compile("^Delete address: Grace Hopper"))
    expect(delete).to_be_visible()
    check(page, "account-with-address")
    _, profile = shop.call("GET", "/api/users/me", token=me["token"])
    assert len(profile["addresses"]) == 1
    delete.click()
    expect(page.get_by_text("No saved addresses yet.")).to_be_visible()
    _, profile = shop.call("GET", "/api/users/me", token=me["token"])
    assert profile["addresses"] == []

    # A preference, kept across a reload.
    updates = page.get_by_label("Order updates")
    expect(updates).to_be_checked()
    updates.uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status").filter(has_text="preferences are saved")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Order updates")).not_to_be_checked()

    # The export downloads as a JSON file holding the account's email.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    path = download.value.path()
    assert download.value.suggested_filename == "jojomart-export.json"
    exported = json.loads(open(path, encoding="utf-8").read())
    assert me["email"] in json.dumps(exported)

    # Deleting asks for DELETE first.
    page.get_by_role("button", name="Delete my account…").click()
    page.get_by_label("Type DELETE to confirm").fill("delete")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_label("Type DELETE to confirm")).to_have_attribute("aria-invalid", "true")
    check(page, "account-delete-confirm")
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    page.get_by_role("button", name="Delete my account for good").click()

    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="account is deleted")).to_be_visible()
    status, _ = shop.call("POST", "/api/auth/login", {"email": me["email"], "password": PASSWORD})
    assert status == 401


def test_the_shopper_pages_say_when_the_shop_cannot_be_reached(page, shop):
    signed_in(page, shop)
    page.route("**/api/**", lambda route: route.abort())
    for path, name in [("/checkout", "checkout"), ("/orders", "orders"), ("/account", "account"), ("/notifications", "notifications")]:
        page.goto(path)
        expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
        check(page, f"{name}-api-down")


def test_the_shopper_pages_ask_a_visitor_to_sign_in(page, shop):
    for path in ["/orders", "/notifications", "/account"]:
        page.goto(path)
        expect(page.get_by_role("link", name="Sign in").last).to_be_visible()
        expect(page.locator("main")).to_contain_text("Sign in to")
    check(page, "account-signed-out")

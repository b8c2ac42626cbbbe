"""The admin console at /manage in a real browser: the sign-in gate, the
products (create with field errors, image upload, stock), the orders (filter,
ship, deliver, refund, a 409 shown), analytics (charts' data tables, top
products, the CSV download), a shopper turned away, an expired session sent
back to the gate, and the API being down."""

import re
import struct
import time
import uuid
import zlib
from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from conftest import ADMIN_EMAIL, PASSWORD, check, unique_email


def png(width: int = 48, height: int = 32) -> bytes:
    """A small solid-colour PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes([11, 92, 173]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def manage_sign_in(page: Page, email: str, heading: str = "Dashboard") -> None:
    """Signs in through the console's gate and waits for `heading`."""
    page.goto("/manage")
    page.get_by_role("heading", name="Sign in to manage the shop").wait_for()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def new_product(shop, token: str, **fields) -> dict:
    body = {
        "sku": f"UI-{uuid.uuid4().hex[:8]}",
        "name": "Spare Part",
        "description": "",
        "category": "ui-tests",
        "unitPrice": 500,
        "currency": "USD",
        "stock": 5,
    } | fields
    status, product = shop.call("POST", "/api/products", body, token)
    assert status == 201, product
    return product


def place_order(shop, product_id: str, quantity: int = 1) -> dict:
    """A shopper's paid order, placed through the API."""
    _, token = shop.register()
    status, cart = shop.call("POST", "/api/cart/items", {"productId": product_id, "quantity": quantity}, token)
    assert status == 200, cart
    body = {
        "shippingAddress": {"name": "Ada Shopper", "line1": "1 Test Street", "city": "Testville", "postalCode": "12345", "country": "US"},
        "paymentMethod": "pm_card_visa",
    }
    status, order = shop.call("POST", "/api/orders", body, token, {"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, order
    assert order["status"] == "paid", order
    return order


def rolled_up(shop, token: str, product_id: str, currency: str) -> dict:
    """Today's summary once it lists `product_id`: the outbox relayed, the
    events ingested (dev's host consumes the queue), the rollup run; polled,
    since each step runs in the background. In `currency`: the other tests'
    orders may be in another one, which the summary would pick by default."""
    deadline = time.monotonic() + 60
    while True:
        shop.run_function("outbox-relay")
        shop.run_function("analytics-rollup")
        status, summary = shop.call("GET", f"/api/analytics/summary?from={today()}&to={today()}&currency={currency}", None, token)
        assert status == 200, summary
        if any(p["productId"] == product_id for p in summary["topProducts"]):
            return summary
        assert time.monotonic() < deadline, f"the order never reached the rollups: {summary}"
        time.sleep(0.5)


def test_manage_admin_journey(page: Page, shop):
    admin = shop.admin_token()
    taken = new_product(shop, admin, name="Already There")
    name = f"Lamp {uuid.uuid4().hex[:6]}"
    sku = f"LAMP-{uuid.uuid4().hex[:8]}"

    # the gate, with the dev hint, then the dashboard
    page.goto("/manage")
    page.get_by_role("heading", name="Sign in to manage the shop").wait_for()
    expect(page.get_by_text("admin@example.com is the admin")).to_be_visible()
    check(page, "manage-sign-in")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("Figures update every 5 minutes")).to_be_visible()
    check(page, "manage-dashboard")

    # products: the list, then a new product with errors first
    page.get_by_role("navigation", name="Manage").get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    check(page, "manage-products")
    page.get_by_role("link", name="New product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New product")
    page.get_by_label("SKU").fill(taken["sku"])
    page.get_by_label("Category").fill("lighting")
    page.get_by_label("Price").fill("24.50")
    page.get_by_label("Stock").fill("3")
    page.get_by_role("button", name="Create product").click()
    # the empty name is named next to its field, and the field is marked
    expect(page.locator("#f-name-error")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    check(page, "manage-product-new-errors")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create product").click()
    # the SKU is taken: 409, said next to the SKU
    expect(page.locator("#f-sku-error")).to_contain_text("already used")
    expect(page.get_by_label("SKU")).to_be_focused()
    check(page, "manage-product-new-duplicate-sku")
    page.get_by_label("SKU").fill(sku)
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    product_id = page.url.rsplit("/", 1)[1]
    status, created = shop.call("GET", f"/api/products/{product_id}")
    assert status == 200 and created["sku"] == sku and created["unitPrice"] == 2450 and created["available"] == 3, created

    # images: a file that is not an image is refused next to the field; a PNG uploads
    upload = page.get_by_label("Add an image")
    upload.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"})
    page.get_by_role("button", name="Upload image").click()
    expect(page.locator("#f-image-error")).to_be_visible()
    upload.set_input_files({"name": "lamp.png", "mimeType": "image/png", "buffer": png()})
    page.get_by_role("button", name="Upload image").click()
    thumb = page.get_by_role("img", name=f"{name}, image 1")
    expect(thumb).to_be_visible()
    expect(thumb).to_have_attribute("src", re.compile(r"-160\.webp$"))
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(page.locator("#f-image-error")).to_be_hidden()
    # a second image, deleted again
    upload.set_input_files({"name": "other.png", "mimeType": "image/png", "buffer": png(40, 40)})
    page.get_by_role("button", name="Upload image").click()
    expect(page.get_by_role("img", name=f"{name}, image 2")).to_be_visible()
    page.get_by_role("button", name="Delete image 2").click()
    expect(page.get_by_role("img", name=f"{name}, image 2")).to_have_count(0)
    expect(thumb).to_be_visible()
    _, stored = shop.call("GET", f"/api/products/{product_id}")
    assert len(stored["imageSet"]) == 1, stored["imageSet"]

    # stock: as created, then set
    levels = page.get_by_role("group", name="Stock levels")
    expect(levels).to_contain_text(re.compile(r"Stock\s*3"))
    expect(page.get_by_label("Units on hand")).to_have_value("3")
    page.get_by_label("Units on hand").fill("7")
    page.get_by_role("button", name="Set stock").click()
    expect(levels).to_contain_text(re.compile(r"Stock\s*7"))
    expect(levels).to_contain_text(re.compile(r"Available\s*7"))
    check(page, "manage-product-edit")

    # the list finds it by name, and pages on
    page.get_by_role("navigation", name="Manage").get_by_role("link", name="Products").click()
    page.get_by_label("Search products").fill(name)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row").filter(has_text=sku)).to_contain_text("In stock")
    check(page, "manage-products-search")
    page.goto("/manage/products")
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    check(page, "manage-products-page-2")

    # the storefront shows it, with the uploaded picture
    page.goto(f"/products/{product_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("main img").first).to_have_attribute("srcset", re.compile(r"\.webp \d+w"))
    check(page, "manage-journey-store-product")

    # a shopper buys three
    order = place_order(shop, product_id, quantity=3)

    # orders: filter by paid, open it, ship, deliver
    page.goto("/manage/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    check(page, "manage-orders")
    page.get_by_label("Status").select_option("paid")
    page.get_by_role("button", name="Show orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paid orders")
    expect(page).to_have_url(re.compile(r"status=paid"))
    check(page, "manage-orders-paid")
    page.get_by_role("link", name=order["id"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(order["id"])
    expect(page.get_by_role("cell", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Mark delivered")).to_have_count(0)
    check(page, "manage-order-paid")
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.locator("#f-trackingNumber-error")).to_be_visible()
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.get_by_role("button", name="Mark shipped").click()
    timeline = page.get_by_role("list", name="Status history, oldest first")
    expect(timeline.get_by_role("listitem").last).to_contain_text("Shipped")
    expect(page.get_by_text("1Z999AA10123456784")).to_be_visible()
    check(page, "manage-order-shipped")
    page.get_by_role("button", name="Mark delivered").click()
    expect(timeline.get_by_role("listitem").last).to_contain_text("Delivered")
    expect(page.get_by_role("button", name="Mark delivered")).to_have_count(0)
    check(page, "manage-order-delivered")
    status, stored = shop.call("GET", f"/api/orders/{order['id']}", None, admin)
    assert stored["status"] == "delivered" and stored["trackingNumber"] == "1Z999AA10123456784", stored

    # analytics: once rolled up, today's revenue and the product show
    rolled_up(shop, admin, product_id, created["currency"])
    page.get_by_role("navigation", name="Manage").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    expect(page.get_by_text("Figures update every 5 minutes")).to_be_visible()
    page.get_by_label("Currency").fill(created["currency"].lower())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=2, name=re.compile(f"in {created['currency']}$"))).to_be_visible()
    top = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Units"))
    expect(top.get_by_role("link", name=name)).to_be_visible()
    revenue = page.get_by_role("figure", name="Revenue per day")
    expect(revenue.get_by_role("img")).to_have_attribute("aria-label", re.compile("Revenue per day"))
    revenue.get_by_text("Revenue per day as a table").click()
    today_row = revenue.get_by_role("row", name=re.compile(today()))
    expect(today_row).to_be_visible()
    amount = today_row.get_by_role("cell").inner_text()
    assert float(re.sub(r"[^0-9.]", "", amount)) > 0, amount
    check(page, "manage-analytics")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    d = download.value
    assert re.fullmatch(r"jojomart-analytics-\d{4}-\d{2}-\d{2}-" + today() + r"\.csv", d.suggested_filename), d.suggested_filename
    lines = open(d.path(), encoding="utf-8").read().splitlines()
    assert lines[0] == "date,orders,revenue,unitsSold,productViews", lines[:2]
    row = next(line for line in lines[1:] if line.startswith(today()))
    assert int(row.split(",")[1]) >= 1 and int(row.split(",")[2]) > 0, row


def test_manage_refund_and_a_refused_move(page: Page, shop):
    admin = shop.admin_token()
    product = new_product(shop, admin, name=f"Mug {uuid.uuid4().hex[:6]}")
    first = place_order(shop, product["id"])
    second = place_order(shop, product["id"])
    manage_sign_in(page, ADMIN_EMAIL)

    # the dashboard counts the paid orders waiting to ship
    waiting, cursor = 0, ""
    while True:
        _, listed = shop.call("GET", f"/api/manage/orders?status=paid&limit=100&cursor={cursor}", None, admin)
        waiting += len(listed["items"])
        if not listed["nextCursor"]:
            break
        cursor = listed["nextCursor"]
    assert waiting >= 2
    expect(page.get_by_role("region", name="Waiting to ship")).to_contain_text(f"{waiting} paid orders wait to be shipped")

    # refund, after saying yes
    page.goto(f"/manage/orders/{first['id']}")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    check(page, "manage-order-refund-confirm")
    page.get_by_role("button", name="Yes, refund").click()
    expect(page.get_by_role("list", name="Status history, oldest first").get_by_role("listitem").last).to_contain_text("Refunded")
    expect(page.get_by_text("Nothing to do: the order is refunded.")).to_be_visible()
    check(page, "manage-order-refunded")

    # the order moved on elsewhere: shipping it now is a 409, said on the page
    page.goto(f"/manage/orders/{second['id']}")
    expect(page.get_by_role("button", name="Mark shipped")).to_be_visible()
    status, _ = shop.call("POST", f"/api/orders/{second['id']}/refund", None, admin)
    assert status == 200
    page.get_by_label("Tracking number").fill("LATE-1")
    page.get_by_role("button", name="Mark shipped").click()
    # said in the live region, and the page now shows the order as it is
    expect(page.get_by_role("status")).to_contain_text("an order that is refunded cannot become shipped")
    expect(page.get_by_text("Nothing to do: the order is refunded.")).to_be_visible()
    expect(page.get_by_role("button", name="Mark shipped")).to_have_count(0)
    check(page, "manage-order-409")


def tab_to(page: Page, selector: str, presses: int = 15) -> None:
    """Presses Tab until `selector` has focus, and checks the focus shows."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has focus but no visible outline"
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_manage_turns_away_a_shopper(page: Page, shop):
    email, _ = shop.register()
    page.goto("/manage/orders")
    page.get_by_role("heading", name="Sign in to manage the shop").wait_for()
    # with the keyboard only
    tab_to(page, "input[name=email]")
    page.keyboard.type(email)
    tab_to(page, "input[name=password]", 1)
    page.keyboard.type(PASSWORD)
    tab_to(page, "button[type=submit]", 1)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("This account cannot manage the shop")
    expect(page.get_by_text(email)).to_be_visible()
    expect(page.get_by_role("navigation", name="Manage").get_by_role("link", name="Orders")).to_have_count(0)
    check(page, "manage-not-admin")
    # wrong credentials: said in the form
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text=re.compile(r"\w"))).to_be_visible()
    check(page, "manage-sign-in-wrong-password")


def test_manage_sends_an_expired_session_back_to_the_gate(page: Page, shop):
    shop.admin_token()
    manage_sign_in(page, ADMIN_EMAIL)
    # tokens the API no longer accepts (and a refresh that fails)
    page.evaluate(
        """() => {
          const s = JSON.parse(localStorage.getItem('jojomart.session'));
          localStorage.setItem('jojomart.session', JSON.stringify({...s, accessToken: 'expired', refreshToken: 'revoked'}));
        }"""
    )
    page.goto("/manage/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to manage the shop")
    check(page, "manage-session-expired")


def test_manage_says_when_the_api_is_down(page: Page, shop):
    shop.admin_token()
    manage_sign_in(page, ADMIN_EMAIL)
    page.route("**/api/**", lambda route: route.abort())
    page.goto("/manage/orders")
    expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    check(page, "manage-api-down")


def test_manage_deletes_a_product_after_asking(page: Page, shop):
    admin = shop.admin_token()
    product = new_product(shop, admin, name=f"Old Stock {uuid.uuid4().hex[:6]}")
    manage_sign_in(page, ADMIN_EMAIL)
    page.goto(f"/manage/products/{product['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    page.get_by_role("button", name="Delete product").click()
    page.get_by_role("button", name="Keep it").click()
    page.get_by_role("button", name="Delete product").click()
    expect(page.get_by_text(f"Delete “{product['name']}” for good?")).to_be_visible()
    check(page, "manage-product-delete-confirm")
    page.get_by_role("button", name="Yes, delete it").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    expect(page.get_by_role("status")).to_contain_text("Deleted")
    status, _ = shop.call("GET", f"/api/products/{product['id']}")
    assert status == 404

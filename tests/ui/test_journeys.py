"""The shopper's whole journey through the storefront, one browser session from
the front page to a review, as issue 14's acceptance asks: browse, search, add
to an anonymous cart, register (the cart merged), verify the email from
/dev/mail, check out with a declined card, with 3-D Secure and with a Visa,
see the orders and their notification, and review the product. Only the
product itself is set up through the API (by the admin). The owner's journey
(a product with an uploaded image, stock, shipping, the charts) is
test_manage.py's test_manage_admin_journey."""

import re
import time
import uuid

from playwright.sync_api import Page, expect

from conftest import PASSWORD, check, unique_email


def test_a_shopper_browses_searches_buys_three_ways_and_reviews(page: Page, shop):
    word = f"Zephyr{uuid.uuid4().hex[:6]}"
    status, product = shop.call(
        "POST",
        "/api/products",
        {
            "sku": f"JOURNEY-{uuid.uuid4().hex[:8].upper()}",
            "name": f"{word} Desk Lamp",
            "description": "A warm desk lamp for the journey test.",
            "category": "home-kitchen",
            "unitPrice": 3900,
            "currency": "USD",
            "stock": 10,
        },
        token=shop.admin_token(),
    )
    assert status == 201, product
    name = product["name"]

    # browse: the front page, then a category
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, "journey-home")
    page.get_by_role("link", name=re.compile(r"^Home & Kitchen \(\d+\)$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Home & Kitchen")
    check(page, "journey-category")

    # search from the header, open the product, add it to an anonymous cart
    page.get_by_label("Search products").fill(word)
    page.get_by_label("Search products").press("Enter")
    expect(page).to_have_url(re.compile(rf"/search\?q={word}"))
    result = page.get_by_role("link", name=name)
    expect(result).to_be_visible()
    check(page, "journey-search")
    result.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name="Cart, 1 items")).to_be_visible()
    check(page, "journey-product")

    # register: the anonymous cart becomes the account's
    email = unique_email("journey")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Name").fill("Journey Shopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="Cart, 1 items").click()
    expect(page.get_by_role("row", name=re.compile(name))).to_be_visible()
    check(page, "journey-cart-merged")

    # verify the email from the mail the shop sent (the dev mail box)
    page.goto("/dev/mail")
    mail = page.get_by_role("row").filter(has_text=email).filter(has_text="Verify your email address").first
    deadline = time.monotonic() + 20
    while not mail.is_visible():
        assert time.monotonic() < deadline, "no verification mail"
        page.wait_for_timeout(250)  # the queue sends it in the background
        page.reload()
    mail.get_by_role("link", name="HTML").click()
    page.get_by_role("link", name="Verify my email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email verified")
    check(page, "journey-email-verified")

    # checkout 1: a declined card says why, and the cart stays
    page.goto("/cart")
    page.get_by_role("link", name=re.compile("check out", re.I)).click()
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    page.get_by_label("Full name").fill("Journey Shopper")
    page.get_by_label("Street and number").fill("7 Lamp Lane")
    page.get_by_label("Postal code").fill("EC1A 1BB")
    page.get_by_label("City").fill("London")
    page.get_by_label("Country").fill("GB")
    page.get_by_label(re.compile("^Declined card")).check()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("form .form-message")).to_contain_text("Your payment was declined")
    check(page, "journey-declined")

    # checkout 2: 3-D Secure, confirmed on the bank's page, back to the paid order
    page.get_by_label(re.compile("^3-D Secure card")).check()
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/3ds/"))
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid", timeout=20_000)
    check(page, "journey-paid-after-3ds")

    # checkout 3: the product again, the saved address, a Visa
    page.goto(f"/products/{product['id']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name="Cart, 1 items")).to_be_visible()
    page.goto("/checkout")
    expect(page.get_by_label(re.compile("7 Lamp Lane"))).to_be_checked()
    page.get_by_label(re.compile("^Visa")).check()
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/orders/[^/?]+$"))
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_text("Thank you for your order!")).to_be_visible()
    check(page, "journey-paid-with-visa")

    # the orders, newest first, and the order mail on the notifications page
    page.get_by_role("link", name="Orders", exact=True).click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three orders
    expect(rows.nth(1)).to_contain_text("Paid")
    expect(rows.nth(2)).to_contain_text("Paid")
    expect(rows.nth(3)).to_contain_text("Payment failed")
    check(page, "journey-orders")
    deadline = time.monotonic() + 20
    while True:
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
        if page.get_by_role("table").filter(has_text="Order placed").count():
            break
        assert time.monotonic() < deadline, "no order notification"
        page.wait_for_timeout(250)  # the mail is sent by the queue in the background
        page.goto("/")
    check(page, "journey-notifications")

    # review the product: a verified purchase
    page.goto(f"/products/{product['id']}")
    page.get_by_role("group", name="Rating").get_by_label("5 stars").check()
    page.get_by_label("Title").fill("Lights up the evening")
    page.get_by_label("Your review").fill("Warm light, sturdy base.")
    page.get_by_role("button", name="Post review").click()
    review = page.locator(".review").filter(has_text="Lights up the evening")
    expect(review).to_be_visible()
    expect(review.get_by_text("Verified purchase")).to_be_visible()
    expect(page.locator("#rating-summary")).to_have_text("Rated 5.0 out of 5 (1 review)")
    check(page, "journey-reviewed")

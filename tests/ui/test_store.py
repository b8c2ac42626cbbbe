"""The storefront's catalog, cart and account-access pages in a real browser:
browsing and searching (filters and paging in the URL), the product page
(pictures, stock, add to cart, reviews), the cart (anonymous, merged at
registration), registration, sign-in, email verification and password reset
through the dev mail box, and the message when the API is down."""

import re
import time
import uuid

from playwright.sync_api import Page, expect

from conftest import PASSWORD, check, sign_in, unique_email

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London", "postalCode": "N1 9GU", "country": "GB"}


def prices_on(page: Page) -> list[float]:
    """The prices of the result cards, in page order."""
    texts = page.locator("main .grid .card .price").all_inner_texts()
    return [float(re.sub(r"[^0-9.]", "", t)) for t in texts]


def new_product(shop, stock: int, name: str | None = None, price: int = 1500) -> dict:
    """A product of our own (as the admin), so counts and ratings start at zero."""
    sku = f"UI-{uuid.uuid4().hex[:8].upper()}"
    status, body = shop.call(
        "POST",
        "/api/products",
        {
            "sku": sku,
            "name": name or f"Test lamp {sku}",
            "description": "A lamp made for the browser tests.",
            "category": "home-kitchen",
            "unitPrice": price,
            "currency": "USD",
            "stock": stock,
        },
        token=shop.admin_token(),
    )
    assert status == 201, body
    return body


def open_mail(page: Page, shop, to: str, subject: str) -> None:
    """Opens the newest mail to `to` with `subject` in the dev mail box,
    reloading while the notification queue has not sent it yet."""
    row = page.get_by_role("row").filter(has_text=to).filter(has_text=subject).first
    deadline = time.monotonic() + 20
    page.goto(shop.url("/dev/mail"))
    while not row.is_visible():
        assert time.monotonic() < deadline, f"no mail '{subject}' to {to}"
        page.wait_for_timeout(250)  # polling the mail box, not an assertion
        page.reload()
    row.get_by_role("link", name="HTML").click()


def test_browse_a_category_search_with_filter_and_sort_page_and_open_a_product(page: Page, shop):
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"^Electronics \(\d+\)$")).click()
    expect(page).to_have_url(re.compile(r"/categories/electronics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Electronics")
    expect(page.get_by_label("Category")).to_have_value("electronics")
    assert page.locator("main .grid .card").count() > 0
    check(page, "store-category")

    # a filter and a sort, kept in the URL
    page.get_by_label("Category").select_option(label="All categories")
    page.get_by_label("Max price (USD)").fill("60")
    page.get_by_label("Sort by").select_option(label="Price: low to high")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/search\?.*maxPrice=60.*sort=price_asc"))
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    first = prices_on(page)
    assert len(first) == 12 and first == sorted(first) and max(first) <= 60
    check(page, "store-search")

    # next page and back: the filter and sort stay, prices keep rising
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page).to_have_url(re.compile(r"cursor="))
    second = prices_on(page)
    assert second and second == sorted(second) and min(second) >= max(first) and max(second) <= 60
    expect(page.get_by_label("Max price (USD)")).to_have_value("60")
    check(page, "store-search-page-2")
    page.get_by_role("link", name="Previous page").click()
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    assert prices_on(page) == first
    # the browser's back button returns to page 2
    page.go_back()
    expect(page.get_by_text("Page 2")).to_be_visible()
    assert prices_on(page) == second

    # a typed price that is not a number is said next to its field
    page.get_by_label("Min price (USD)").fill("ten")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_label("Min price (USD)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-minPrice-error")).to_have_text(re.compile("amount"))

    # the API's field error for a reversed range shows next to its field
    page.get_by_label("Min price (USD)").fill("80")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#f-minPrice-error")).to_have_text("must not be greater than maxPrice")
    expect(page.get_by_label("Min price (USD)")).to_have_attribute("aria-invalid", "true")
    check(page, "store-search-bad-range")

    # a stale paging link says so and offers the first page
    page.goto("/search?sort=price_asc&cursor=not-ours")
    expect(page.get_by_text("This results page is out of date.")).to_be_visible()
    page.get_by_role("link", name="Start from the first page").click()
    expect(page).to_have_url(re.compile(r"/search\?sort=price_asc$"))
    expect(page.locator("main .grid .card").first).to_be_visible()

    # nothing matches: the empty state
    page.goto("/search?q=zzzz-no-such-thing")
    expect(page.get_by_text("No products match your search.")).to_be_visible()
    check(page, "store-search-empty")

    # the product page: responsive main picture (a demo product: only the
    # seed puts products in Electronics, and each has a picture)
    page.goto("/categories/electronics?sort=price_asc")
    card = page.locator("main .grid .card").first
    name = card.get_by_role("heading").inner_text()
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    picture = page.get_by_role("img", name=name)
    expect(picture).to_have_attribute("srcset", re.compile(r"-160\.webp 160w, \S+-640\.webp \d+w"))
    # the browser picked one of the variants
    assert re.search(r"-(160|640|1280)\.webp$", picture.evaluate("img => img.decode().then(() => img.currentSrc)"))
    expect(picture).to_have_attribute("sizes", re.compile("rem|vw"))
    expect(page.get_by_text("In stock")).to_be_visible()
    check(page, "store-product")

    # signing in from the product page comes back to it (?next=)
    product_url = page.url
    email, _ = shop.register()
    page.get_by_role("link", name="Sign in to write a review").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(product_url)
    expect(page.get_by_role("form", name="Write a review")).to_be_visible()


def test_an_anonymous_cart_is_kept_through_registration_and_can_be_changed(page: Page, shop):
    product = new_product(shop, stock=10, price=1250)
    page.goto(f"/products/{product['id']}")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("alert").get_by_text("Added to your cart")).to_be_visible()
    expect(page.get_by_role("link", name="Cart, 2 items")).to_be_visible()
    check(page, "store-product-added")

    page.get_by_role("link", name="View your cart").click()
    expect(page.get_by_role("row", name=re.compile(product["name"]))).to_be_visible()
    expect(page.locator(".subtotal")).to_have_text("$25.00")
    check(page, "store-cart-anonymous")

    # register from the cart: the server merges the anonymous cart
    page.goto("/register?next=/cart")
    email = unique_email()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    check(page, "store-register")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    line = page.get_by_role("row", name=re.compile(product["name"]))
    expect(line).to_be_visible()
    expect(line.get_by_label(f"Quantity of {product['name']}")).to_have_value("2")
    check(page, "store-cart-merged")

    # change the quantity, then 0 removes the line
    line.get_by_label(f"Quantity of {product['name']}").fill("3")
    line.get_by_role("button", name=re.compile("Update")).click()
    expect(page.locator(".subtotal")).to_have_text("$37.50")
    expect(page.get_by_role("link", name="Cart, 3 items")).to_be_visible()
    line.get_by_label(f"Quantity of {product['name']}").fill("11")
    line.get_by_role("button", name=re.compile("Update")).click()
    expect(line.get_by_label(f"Quantity of {product['name']}")).to_have_attribute("aria-invalid", "true")
    check(page, "store-cart-too-many")
    line.get_by_role("button", name=f"Remove {product['name']}").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    check(page, "store-cart-empty")

    # not verified yet: a new link can be asked for
    page.goto("/verify-email")
    page.get_by_role("button", name="Send a new link").click()
    expect(page.get_by_text(f"We sent a new link to {email}.")).to_be_visible()
    check(page, "store-email-verify-resent")

    # the verification mail's link verifies the address
    open_mail(page, shop, email, "Verify your email address")
    page.get_by_role("link", name="Verify my email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email verified")
    check(page, "store-email-verified")
    # the link works once; the session knows the address is verified now
    page.reload()
    expect(page.get_by_text("invalid, expired or was already used")).to_be_visible()
    expect(page.get_by_text(f"Your email address {email} is verified.")).to_be_visible()
    expect(page.get_by_role("button", name="Send a new link")).to_have_count(0)
    check(page, "store-email-verify-used")


def test_a_forgotten_password_is_reset_from_the_mail_link(page: Page, shop):
    email, _ = shop.register()
    page.goto("/login")
    check(page, "store-login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("If an account exists for")).to_be_visible()
    check(page, "store-forgot-password-sent")

    open_mail(page, shop, email, "Reset")
    page.get_by_role("link", name=re.compile("reset|password", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/reset-password\?token="))
    reset_url = page.url
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    check(page, "store-reset-password-error")
    page.get_by_label("New password").fill("a brand new passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password is changed")
    check(page, "store-reset-password-done")

    # the old password no longer works; the new one does
    page.get_by_role("link", name="Sign in with your new password").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text=re.compile("."))).to_be_visible()
    check(page, "store-login-failed")
    sign_in(page, email, "a brand new passphrase")

    # the used link says so and points to a new request
    page.goto(reset_url)
    page.get_by_label("New password").fill("yet another passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("invalid, expired or was already used")).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a new reset link")).to_be_visible()
    check(page, "store-reset-password-used")


def test_a_weak_password_is_shown_next_to_the_password_field(page: Page, shop):
    page.goto("/register")
    page.get_by_label("Name").fill("Short Pass")
    page.get_by_label("Email").fill(unique_email())
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()
    expect(page.locator("#f-password-error")).to_have_text("must be at least 8 characters long")
    # the error and the hint ("At least 8 characters.") both describe the field
    expect(password).to_have_attribute("aria-describedby", "f-password-hint f-password-error")
    check(page, "store-register-weak-password")


def test_an_out_of_stock_product_cannot_be_added(page: Page, shop):
    product = new_product(shop, stock=3)
    page.goto(f"/products/{product['id']}")
    expect(page.get_by_text("Only 3 left")).to_be_visible()
    status, body = shop.call("PUT", f"/api/products/{product['id']}/inventory", {"stock": 0}, token=shop.admin_token())
    assert status == 200, body
    page.reload()
    expect(page.get_by_text("Out of stock", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Add to cart")).to_be_disabled()
    check(page, "store-product-out-of-stock")


def test_a_buyer_writes_a_review_that_shows_on_the_product_page(page: Page, shop):
    product = new_product(shop, stock=5)
    email, token = shop.register()
    status, body = shop.call("POST", "/api/cart/items", {"productId": product["id"], "quantity": 1}, token=token)
    assert status == 200, body
    status, body = shop.call(
        "POST",
        "/api/orders",
        {"shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
        token=token,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, body

    # five other shoppers reviewed it before: the first page shows five
    for n in range(5):
        _, other = shop.register(name=f"Earlier Reviewer {n}")
        status, body = shop.call("POST", f"/api/products/{product['id']}/reviews", {"rating": 5, "title": f"Earlier review {n}", "body": "Fine."}, token=other)
        assert status == 201, body

    sign_in(page, email)
    page.goto(f"/products/{product['id']}")
    expect(page.locator("#rating-summary")).to_have_text("Rated 5.0 out of 5 (5 reviews)")
    expect(page.locator(".review")).to_have_count(5)
    expect(page.get_by_role("button", name="Show more reviews")).to_be_hidden()
    check(page, "store-product-review-form")
    page.get_by_role("button", name="Post review").click()
    expect(page.get_by_text("must be a whole number from 1 to 5")).to_be_visible()
    check(page, "store-review-errors")

    page.get_by_role("group", name="Rating").get_by_label("4 stars").check()
    page.get_by_label("Title").fill("Bright and warm")
    page.get_by_label("Your review").fill("Lights the whole desk.")
    page.get_by_role("button", name="Post review").click()
    review = page.locator(".review").filter(has_text="Bright and warm")
    expect(review).to_be_visible()
    expect(review.get_by_text("Verified purchase")).to_be_visible()
    expect(review.get_by_text("Rated 4 out of 5")).to_be_attached()
    expect(page.locator("#rating-summary")).to_have_text("Rated 4.8 out of 5 (6 reviews)")
    check(page, "store-review-posted")
    # six reviews: the sixth is one click away
    expect(page.locator(".review")).to_have_count(5)
    page.get_by_role("button", name="Show more reviews").click()
    expect(page.locator(".review")).to_have_count(6)
    expect(page.get_by_role("button", name="Show more reviews")).to_be_hidden()

    # a second review of the same product is refused with a message
    page.get_by_role("group", name="Rating").get_by_label("5 stars").check()
    page.get_by_label("Title").fill("Again")
    page.get_by_role("button", name="Post review").click()
    expect(page.get_by_text("You have already reviewed this product.")).to_be_visible()


def tab_to(page: Page, target, limit: int = 40) -> None:
    """Presses Tab until `target` has focus (fails after `limit` presses) and
    checks that the focused control shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            ring = target.evaluate("el => getComputedStyle(el).outlineStyle")
            assert ring != "none", "the focused control shows no focus ring"
            return
    raise AssertionError(f"{target} was not reached with Tab")


def test_a_shopper_adds_to_the_cart_and_removes_with_the_keyboard_only(page: Page, shop):
    product = new_product(shop, stock=4, price=999)
    page.goto(f"/products/{product['id']}")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    tab_to(page, page.get_by_label("Quantity"))
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("2")
    tab_to(page, page.get_by_role("button", name="Add to cart"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Cart, 2 items")).to_be_visible()

    tab_to(page, page.get_by_role("link", name="Cart, 2 items"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cart$"))
    quantity = page.get_by_label(f"Quantity of {product['name']}")
    tab_to(page, quantity)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("1")
    page.keyboard.press("Enter")  # submits that line's form
    expect(page.locator(".subtotal")).to_have_text("$9.99")
    tab_to(page, page.get_by_role("button", name=f"Remove {product['name']}"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_focused()


def test_pages_say_when_the_shop_cannot_be_reached(page: Page, shop):
    page.route("**/api/**", lambda route: route.abort())
    for path in ["/", "/search?q=lamp", "/categories/books", "/products/anything", "/cart"]:
        page.goto(path)
        expect(page.get_by_role("alert")).to_contain_text("cannot be reached")
        expect(page.get_by_role("button", name="Try again")).to_be_visible()
    check(page, "store-api-down")

"""How the binary serves the two apps: the first storefront load's weight,
cache validation, and the pages' paths."""

import urllib.request

from conftest import check

BUDGET_BYTES = 200 * 1024


def test_the_first_storefront_load_transfers_under_200_kb_without_images(page, shop):
    sizes = {}

    def count(response):
        if response.request.resource_type == "image":
            return
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # a redirect or an aborted request has no body
            sizes.setdefault(response.url, 0)

    page.on("response", count)
    page.goto("/")
    page.get_by_role("heading", level=1).wait_for()
    page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    assert sizes, "nothing was loaded"
    assert total < BUDGET_BYTES, f"first load is {total} bytes: {sorted(sizes.items(), key=lambda kv: -kv[1])[:10]}"
    check(page, "store-home")


def test_assets_are_revalidated_by_their_entity_tag(shop):
    with urllib.request.urlopen(shop.url("/assets/common/api.js")) as r:
        etag = r.headers["ETag"]
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["Content-Type"].startswith("text/javascript")
    req = urllib.request.Request(shop.url("/assets/common/api.js"), headers={"If-None-Match": etag})
    try:
        urllib.request.urlopen(req)
        raise AssertionError("expected 304")
    except urllib.error.HTTPError as e:
        assert e.code == 304


def test_a_deep_link_opens_its_page_and_an_unknown_path_is_a_404(page, shop):
    with urllib.request.urlopen(shop.url("/orders/some-order")) as r:
        assert r.headers["Content-Type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    try:
        urllib.request.urlopen(shop.url("/no-such-page"))
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404

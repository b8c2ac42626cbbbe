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


def test_the_static_web_app_staging_points_the_pages_at_the_api_and_routes_every_page(tmp_path):
    """scripts/web-dist.sh (run by deploy.sh) as a Static Web App would read it."""
    import json
    import re
    import subprocess

    from conftest import ROOT

    out = tmp_path / "web"
    api = "https://jojomart-x.azure-api.net"
    subprocess.run([str(ROOT / "scripts" / "web-dist.sh"), api, str(out)], check=True, stdout=subprocess.DEVNULL)
    for page in ("store/index.html", "manage/index.html"):
        assert f'<meta name="jojomart-api" content="{api}">' in (out / page).read_text()
    config = json.loads((out / "staticwebapp.config.json").read_text())
    rewrites = {r["route"]: r.get("rewrite") for r in config["routes"]}
    source = (ROOT / "functions" / "http" / "web.rs").read_text()
    for const, target in (("STORE_PAGES", "/store/index.html"), ("MANAGE_PAGES", "/manage/index.html")):
        block = re.search(const + r": &\[&str\] = &\[(.*?)\];", source, re.S).group(1)
        for path in re.findall(r'"([^"]+)"', block):
            assert rewrites.get(re.sub(r"\{[^}]+\}", "*", path)) == target, path
    csp = config["globalHeaders"]["Content-Security-Policy"]
    assert f"connect-src 'self' {api};" in csp
    assert "script-src 'self';" in csp
    assert (out / "assets" / "common" / "api.js").exists()


def test_the_client_routes_are_the_pages_the_binary_serves():
    """Every path a client router renders is a path `dev` (and the Static Web
    App) answers with its page, and the other way round."""
    import re

    from conftest import ROOT

    source = (ROOT / "functions" / "http" / "web.rs").read_text()
    for const, app in (("STORE_PAGES", "store"), ("MANAGE_PAGES", "manage")):
        block = re.search(const + r": &\[&str\] = &\[(.*?)\];", source, re.S).group(1)
        served = set(re.findall(r'"([^"]+)"', block))
        script = (ROOT / "web" / "assets" / app / "app.js").read_text()
        routed = {re.sub(r":(\w+)", r"{\1}", p) for p in re.findall(r"path: '([^']+)'", script)}
        assert routed == served, f"{app}: routed only {routed - served}, served only {served - routed}"

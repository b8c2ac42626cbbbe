#!/usr/bin/env bash
# Stages web/ for a Static Web App: copies it to OUT-DIR, points both pages'
# `jojomart-api` meta tag at API-BASE (API Management's gateway), and writes
# staticwebapp.config.json: the same page routes `jojomart dev` serves
# (functions/http/web.rs), 404 for anything else, `no-cache` revalidation, and
# the same security headers, with API-BASE (and MEDIA-BASE, if any) allowed.
# Called by scripts/deploy.sh; checked by tests/ui/test_serving.py.
#
# Usage: scripts/web-dist.sh API-BASE OUT-DIR [MEDIA-BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
api=${1:?usage: scripts/web-dist.sh API-BASE OUT-DIR [MEDIA-BASE]}
out=${2:?usage: scripts/web-dist.sh API-BASE OUT-DIR [MEDIA-BASE]}
media=${3:-}
case "$api" in https://*|http://127.0.0.1:*) ;; *) echo "web-dist: API-BASE must be an https:// URL" >&2; exit 1 ;; esac
api=${api%/}

rm -rf "$out"
mkdir -p "$out"
cp -R web/. "$out/"
python3 - "$api" "$out" "$media" <<'PY'
import html, json, re, sys
from pathlib import Path

api, out, media = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
for page in ("store/index.html", "manage/index.html"):
    path = out / page
    text = path.read_text()
    text, n = re.subn(r'<meta name="jojomart-api" content="[^"]*">',
                      f'<meta name="jojomart-api" content="{html.escape(api)}">', text)
    assert n == 1, f"{page}: no jojomart-api meta tag"
    path.write_text(text)

# The pages: as in functions/http/web.rs (STORE_PAGES, MANAGE_PAGES).
source = Path("functions/http/web.rs").read_text()
def pages(const):
    block = re.search(const + r": &\[&str\] = &\[(.*?)\];", source, re.S).group(1)
    return re.findall(r'"([^"]+)"', block)
def route(path):
    return re.sub(r"\{[^}]+\}", "*", path)

origin = re.match(r"https?://[^/]+", api).group(0)
media_origin = re.match(r"https?://[^/]+", media).group(0) if media else ""
csp = ("default-src 'self'; img-src 'self' data: https:; script-src 'self'; style-src 'self'; "
       f"connect-src 'self' {origin}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
routes = [{"route": route(p), "rewrite": "/store/index.html"} for p in pages("STORE_PAGES")]
routes += [{"route": route(p), "rewrite": "/manage/index.html"} for p in pages("MANAGE_PAGES")]
routes += [{"route": "/assets/*", "headers": {"Cache-Control": "no-cache"}}]
config = {
    "routes": routes,
    "responseOverrides": {"404": {"rewrite": "/store/index.html", "statusCode": 404}},
    "globalHeaders": {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    },
    "mimeTypes": {".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"},
}
(out / "staticwebapp.config.json").write_text(json.dumps(config, indent=2) + "\n")
PY
echo "$out"

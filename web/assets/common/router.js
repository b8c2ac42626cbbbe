// A small history router: paths like `/products/:id` map to page modules,
// loaded on first use, so the first page load carries only what it shows.
// Same-origin links are followed without a reload; the browser's back and
// forward buttons work; focus moves to the new page's heading.

/**
 * Starts routing `routes` (`[{path: '/products/:id', load: () => import(...)}]`)
 * into `main`. A page module's default export is
 * `async (main, {params, query, navigate}) => void`.
 * `notFound` renders when no route matches. Returns `navigate(url, {replace})`.
 */
export function startRouter(main, routes, { notFound, onRoute } = {}) {
  const compiled = routes.map((r) => ({
    ...r,
    pattern: new RegExp(`^${r.path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}/?$`),
  }));
  let current = 0;

  async function render() {
    const ticket = ++current;
    const url = new URL(location.href);
    const route = compiled.find((r) => r.pattern.test(url.pathname));
    onRoute?.(url);
    if (!route) {
      notFound(main);
      return;
    }
    const params = Object.fromEntries(
      Object.entries(route.pattern.exec(url.pathname).groups || {}).map(([k, v]) => [k, decodeURIComponent(v)]),
    );
    main.setAttribute('aria-busy', 'true');
    try {
      const page = (await route.load()).default;
      if (ticket !== current) return;
      await page(main, { params, query: url.searchParams, navigate, isCurrent: () => ticket === current });
    } finally {
      if (ticket === current) main.removeAttribute('aria-busy');
    }
    if (ticket === current) {
      const heading = main.querySelector('h1');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus({ preventScroll: true });
      }
    }
  }

  // A message in the live region belongs to the page it was said on: the
  // shopper's own moves (a link, back, forward) clear it; a page that says
  // something and then moves on (signed out, order placed) keeps it.
  function clearStatus() {
    document.getElementById('status')?.replaceChildren();
  }

  function navigate(to, { replace = false } = {}) {
    const url = new URL(to, location.href);
    if (url.origin !== location.origin) {
      location.assign(url.href);
      return;
    }
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    window.scrollTo(0, 0);
    render();
  }

  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !compiled.some((r) => r.pattern.test(url.pathname))) return;
    e.preventDefault();
    clearStatus();
    navigate(url.href);
  });
  window.addEventListener('popstate', () => {
    clearStatus();
    render();
  });
  render();
  return navigate;
}

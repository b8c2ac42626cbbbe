// Sales analytics for a range of days (UTC; the last 30 by default): headline
// figures, daily revenue and orders as bar charts, the funnel, top products,
// and the daily series as a CSV download. Charts are inline SVG drawn here;
// each has an accessible name that sums it up and its data as a table.

import { api, ApiError } from '../../common/api.js';
import { h, mount, money, field, showErrors, clearErrors, describe } from '../../common/dom.js';
import { pageFailed, authLost, stats, daysAgo } from '../console.js';

const NS = 'http://www.w3.org/2000/svg';

/** An SVG element: `svg('rect', {x: 1}, child)`. */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const percent = (ratio) => `${(ratio * 100).toFixed(1)} %`;
const shortDay = (iso) => iso.slice(5); // MM-DD

/**
 * Vertical bars, one per day: `rows` of `{label, value}`, `format` for the
 * value's text. The SVG is an image named by `summary`; `table` is the same
 * data for everyone who cannot see it.
 */
function barChart({ id, title, rows, format, columns }) {
  const W = 720, H = 240, left = 72, right = 8, top = 12, bottom = 36;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = Math.max(0, ...rows.map((r) => r.value));
  const scale = max || 1;
  const step = plotW / Math.max(1, rows.length);
  const every = Math.ceil(rows.length / 10); // at most about ten date labels
  const best = rows.reduce((a, r) => (r.value > (a?.value ?? -Infinity) ? r : a), null);
  const total = rows.reduce((n, r) => n + r.value, 0);
  const summary = rows.length
    ? `${title}, ${rows[0].label} to ${rows[rows.length - 1].label}: ${format(total)} in all` +
      (max > 0 ? `; highest ${format(best.value)} on ${best.label}.` : '; none on any day.')
    : `${title}: no days.`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, focusable: 'false' },
    svg('line', { x1: left, y1: top + plotH, x2: W - right, y2: top + plotH, class: 'axis' }),
    svg('text', { x: left - 6, y: top + 10, 'text-anchor': 'end' }, format(max)),
    svg('text', { x: left - 6, y: top + plotH, 'text-anchor': 'end' }, format(0)),
    ...rows.map((r, i) => {
      const height = (r.value / scale) * plotH;
      const x = left + i * step + step * 0.15;
      return svg('rect', { class: 'bar', x: x.toFixed(1), y: (top + plotH - height).toFixed(1), width: (step * 0.7).toFixed(1), height: height.toFixed(1) },
        svg('title', {}, `${r.label}: ${format(r.value)}`));
    }),
    ...rows.map((r, i) => (i % every === 0
      ? svg('text', { x: (left + i * step + step / 2).toFixed(1), y: H - bottom + 16, 'text-anchor': 'middle' }, shortDay(r.label))
      : null)).filter(Boolean),
  );
  return h('figure', { class: 'chart', 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, title),
    chart,
    dataTable(`${title} as a table`, columns, rows.map((r) => [r.label, format(r.value)])));
}

/** Horizontal bars for the funnel's steps, each as wide as its share of the first. */
function funnelChart(funnel) {
  const steps = [
    ['Sessions that viewed a product', funnel.sessionsViewed],
    ['Sessions that added to a cart', funnel.sessionsAddedToCart],
    ['Orders placed', funnel.ordersPlaced],
    ['Orders paid', funnel.ordersPaid],
  ];
  const W = 720, rowH = 40, labelW = 250, valueW = 60;
  const max = Math.max(1, ...steps.map(([, n]) => n));
  const summary = `Funnel: ${steps.map(([name, n]) => `${name} ${n}`).join(', ')}.`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${steps.length * rowH}`, role: 'img', 'aria-label': summary, focusable: 'false' },
    ...steps.flatMap(([name, n], i) => {
      const y = i * rowH;
      const width = (n / max) * (W - labelW - valueW);
      return [
        svg('text', { x: 0, y: y + rowH / 2 + 4 }, name),
        svg('rect', { class: 'bar', x: labelW, y: y + 8, width: width.toFixed(1), height: rowH - 16 }),
        svg('text', { x: labelW + width + 6, y: y + rowH / 2 + 4 }, n),
      ];
    }),
  );
  return h('figure', { class: 'chart', 'aria-labelledby': 'funnel-h' },
    h('h3', { id: 'funnel-h' }, 'Funnel'),
    chart,
    dataTable('Funnel as a table', ['Step', 'Count'], steps.map(([name, n]) => [name, String(n)])));
}

/** A table in a `<details>`: the chart's data, for screen readers and for copying. */
function dataTable(caption, columns, rows) {
  return h('details', {},
    h('summary', {}, caption),
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
      h('tbody', {}, rows.map(([first, ...rest]) => h('tr', {},
        h('th', { scope: 'row' }, first),
        rest.map((v) => h('td', { class: 'num' }, v)))))));
}

/** Fetches the CSV with the session's token and saves it through an object URL. */
async function downloadCsv(from, to, currency, message) {
  mount(message);
  try {
    const response = await api('GET', '/api/analytics/summary.csv', {
      query: { from, to, currency },
      raw: true,
      headers: { Accept: 'text/csv, application/problem+json' },
    });
    const url = URL.createObjectURL(await response.blob());
    const link = h('a', { href: url, download: `jojomart-analytics-${from}-${to}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    // the download has started by now; let it finish before the URL goes
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    if (!authLost(error)) mount(message, h('p', { class: 'notice error' }, describe(error)));
  }
}

/** Renders the analytics page (`?from=&to=`, `YYYY-MM-DD`; `&currency=`, blank: the range's main one). */
export default async function analytics(main, { query, navigate }) {
  document.title = 'Analytics · Manage · jojomart';
  const from = query.get('from') || daysAgo(29);
  const to = query.get('to') || daysAgo(0);
  const currency = (query.get('currency') || '').toUpperCase();
  const form = h(
    'form',
    {
      class: 'row',
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const params = new URLSearchParams({ from: data.get('from'), to: data.get('to') });
        const picked = String(data.get('currency') || '').trim().toUpperCase();
        if (picked) params.set('currency', picked);
        navigate(`/manage/analytics?${params}`);
      },
    },
    h('div', { class: 'form-message', role: 'alert' }),
    field('From', { name: 'from', type: 'date', required: true, value: from }),
    field('To', { name: 'to', type: 'date', required: true, value: to }),
    field('Currency', { name: 'currency', value: currency, maxlength: 3, size: 4, autocomplete: 'off' }, 'Blank: the one most orders used'),
    h('div', { class: 'field submit' }, h('button', { type: 'submit' }, 'Show')),
  );
  const results = h('div', { class: 'analytics' });
  mount(
    main,
    h('h1', {}, 'Analytics'),
    h('p', { class: 'hint' }, 'Days are UTC. Figures update every 5 minutes.'),
    form,
    results,
  );
  try {
    const s = await api('GET', '/api/analytics/summary', { query: { from, to, currency } });
    clearErrors(form);
    const message = h('div', { role: 'alert' });
    mount(
      results,
      h('section', { 'aria-labelledby': 'head-h' },
        h('h2', { id: 'head-h' }, `${s.from} to ${s.to}, in ${s.currency}`),
        stats([
          ['Orders', String(s.orders)],
          ['Revenue', money(s.revenue, s.currency)],
          ['Average order value', money(s.averageOrderValue, s.currency)],
          ['Units sold', String(s.unitsSold)],
          ['Refunds', `${money(s.refunds, s.currency)} (${s.refundedOrders ?? 0} ${s.refundedOrders === 1 ? 'order' : 'orders'})`],
          ['Conversion rate', percent(s.conversionRate)],
        ], 'Headline figures'),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv(s.from, s.to, currency, message) }, 'Download CSV'),
          h('span', { class: 'hint' }, 'One line per day; revenue in minor units (cents).')),
        message),
      h('section', { 'aria-labelledby': 'daily-h' },
        h('h2', { id: 'daily-h' }, 'Day by day'),
        barChart({
          id: 'revenue', title: 'Revenue per day', columns: ['Date', 'Revenue'],
          rows: s.daily.map((d) => ({ label: d.date, value: d.revenue })),
          format: (v) => money(v, s.currency),
        }),
        barChart({
          id: 'orders', title: 'Orders per day', columns: ['Date', 'Orders'],
          rows: s.daily.map((d) => ({ label: d.date, value: d.orders })),
          format: (v) => String(v),
        })),
      h('section', { 'aria-labelledby': 'funnel-s' },
        h('h2', { id: 'funnel-s' }, 'How far shoppers got'),
        funnelChart(s.funnel)),
      h('section', { 'aria-labelledby': 'top-h' },
        h('h2', { id: 'top-h' }, 'Top products'),
        s.topProducts.length
          ? h('table', {},
              h('caption', { class: 'visually-hidden' }, 'Best-selling products by units'),
              h('thead', {}, h('tr', {},
                h('th', { scope: 'col' }, 'Product'),
                h('th', { scope: 'col', class: 'num' }, 'Units'),
                h('th', { scope: 'col', class: 'num' }, 'Revenue'))),
              h('tbody', {}, s.topProducts.map((p) => h('tr', {},
                h('td', {}, h('a', { href: `/manage/products/${encodeURIComponent(p.productId)}` }, p.name)),
                h('td', { class: 'num' }, String(p.units)),
                h('td', { class: 'num' }, money(p.revenue, s.currency))))))
          : h('p', { class: 'notice' }, 'No paid orders in this range yet.')),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) showErrors(form, e);
    else pageFailed(main, e, () => analytics(main, { query, navigate }));
  }
}

// The console's front page: today's and the last 7 days' figures, how many
// paid orders wait to be shipped, and the way to each section.

import { api } from '../../common/api.js';
import { h, mount, money } from '../../common/dom.js';
import { pageFailed, stats, daysAgo } from '../console.js';

/** Pages of paid orders counted at most (then "N+" is shown). */
const MAX_PAGES = 10;

/** Counts the paid orders (the ones waiting to ship), a page of 100 at a time. */
async function paidOrders() {
  let count = 0;
  let cursor = null;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await api('GET', '/api/manage/orders', { query: { status: 'paid', limit: 100, cursor } });
    count += page.items.length;
    cursor = page.nextCursor;
    if (!cursor) return `${count}`;
  }
  return `${count}+`;
}

function figures(summary) {
  return [
    ['Orders', String(summary.orders)],
    ['Revenue', money(summary.revenue, summary.currency)],
    ['Average order', money(summary.averageOrderValue, summary.currency)],
    ['Units sold', String(summary.unitsSold)],
  ];
}

/** Renders the dashboard. */
export default async function dashboard(main) {
  document.title = 'Dashboard · Manage · jojomart';
  try {
    const today = daysAgo(0);
    const [day, week, waiting] = await Promise.all([
      api('GET', '/api/analytics/summary', { query: { from: today, to: today } }),
      api('GET', '/api/analytics/summary', { query: { from: daysAgo(6), to: today } }),
      paidOrders(),
    ]);
    mount(
      main,
      h('h1', {}, 'Dashboard'),
      h('section', { 'aria-labelledby': 'ship-h', class: 'card' },
        h('h2', { id: 'ship-h' }, 'Waiting to ship'),
        h('p', {}, h('strong', { class: 'big' }, waiting), ` paid ${waiting === '1' ? 'order waits' : 'orders wait'} to be shipped. `,
          h('a', { href: '/manage/orders?status=paid' }, 'See the paid orders'))),
      h('section', { 'aria-labelledby': 'today-h' },
        h('h2', { id: 'today-h' }, `Today (${today}, UTC)`),
        stats(figures(day), 'Today')),
      h('section', { 'aria-labelledby': 'week-h' },
        h('h2', { id: 'week-h' }, 'The last 7 days'),
        stats([...figures(week), ['Conversion rate', `${(week.conversionRate * 100).toFixed(1)} %`]], 'The last 7 days')),
      h('p', { class: 'hint' }, 'Figures update every 5 minutes.'),
      h('section', { 'aria-labelledby': 'sections-h' },
        h('h2', { id: 'sections-h' }, 'Sections'),
        h('ul', { class: 'sections' },
          h('li', {}, h('a', { href: '/manage/products' }, 'Products'), ': the catalogue, prices, images and stock.'),
          h('li', {}, h('a', { href: '/manage/orders' }, 'Orders'), ': ship, deliver and refund.'),
          h('li', {}, h('a', { href: '/manage/analytics' }, 'Analytics'), ': sales, the funnel and top products.'))),
    );
  } catch (e) {
    pageFailed(main, e, () => dashboard(main));
  }
}

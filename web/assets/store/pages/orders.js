// The shopper's orders, newest first, a page at a time: number, date,
// status and total, each linking to its order page.

import { api, session } from '../../common/api.js';
import { h, mount, money, when, errorPage } from '../../common/dom.js';
import { signInPrompt, statusBadge, orderNumber, pager } from '../shopper.js';

/** Renders the order list. */
export default async function orders(main, ctx) {
  document.title = 'Your orders · jojomart';
  if (!session.signedIn()) {
    signInPrompt(main, 'Your orders', 'Sign in to see your orders.');
    return;
  }
  const cursor = ctx.query.get('cursor');
  let page;
  try {
    page = await api('GET', '/api/orders', { query: { limit: 20, cursor } });
  } catch (e) {
    errorPage(main, e, () => orders(main, ctx));
    return;
  }
  if (!page.items.length && !cursor) {
    mount(main, h('h1', {}, 'Your orders'),
      h('p', {}, 'You have not ordered anything yet.'),
      h('p', {}, h('a', { href: '/' }, 'Start shopping')));
    return;
  }
  mount(main,
    h('h1', {}, 'Your orders'),
    h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Your orders, newest first'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Order'),
        h('th', { scope: 'col' }, 'Date'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col', class: 'num' }, 'Total'))),
      h('tbody', {}, page.items.map((o) => h('tr', { 'data-order': o.id },
        h('td', {}, h('a', { href: `/orders/${encodeURIComponent(o.id)}` }, `Order ${orderNumber(o.id)}`)),
        h('td', {}, when(o.createdAt)),
        h('td', {}, statusBadge(o.status)),
        h('td', { class: 'num' }, money(o.total, o.currency)))))),
    pager('/orders', 'More orders', cursor, page.nextCursor));
}

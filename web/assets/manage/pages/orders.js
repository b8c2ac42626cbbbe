// Every order, newest first: a status filter and cursor paging.

import { api } from '../../common/api.js';
import { h, mount, money, when, field } from '../../common/dom.js';
import { pageFailed, pager, statusBadge, ORDER_STATUSES } from '../console.js';

const PAGE_SIZE = 25;

/** Who placed the order: the email the API gives, else the name it ships to. */
function customer(order) {
  return order.email || order.shippingAddress?.name || 'Guest';
}

/** Renders the order list (`?status=` filters, `?cursor=` pages). */
export default async function orders(main, { query, navigate }) {
  const status = query.get('status') || '';
  const label = ORDER_STATUSES.find(([s]) => s === status)?.[1];
  document.title = `${label ? `${label} orders` : 'Orders'} · Manage · jojomart`;
  try {
    const page = await api('GET', '/api/manage/orders', { query: { status, limit: PAGE_SIZE, cursor: query.get('cursor') } });
    const filter = h(
      'form',
      {
        class: 'row',
        onsubmit: (e) => {
          e.preventDefault();
          const chosen = new FormData(filter).get('status').toString();
          navigate(`/manage/orders${chosen ? `?status=${encodeURIComponent(chosen)}` : ''}`);
        },
      },
      field('Status', {
        name: 'status',
        type: 'select',
        options: [
          h('option', { value: '', selected: !status }, 'All statuses'),
          ...ORDER_STATUSES.map(([value, text]) => h('option', { value, selected: value === status }, text)),
        ],
      }),
      h('div', { class: 'field submit' }, h('button', { type: 'submit' }, 'Show orders')),
    );
    mount(
      main,
      h('h1', {}, label ? `${label} orders` : 'Orders'),
      filter,
      page.items.length
        ? h('table', {},
            h('caption', { class: 'visually-hidden' }, `${label ? `${label} orders` : 'All orders'}, newest first`),
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col' }, 'Order'),
              h('th', { scope: 'col' }, 'Placed'),
              h('th', { scope: 'col' }, 'Customer'),
              h('th', { scope: 'col' }, 'Status'),
              h('th', { scope: 'col', class: 'num' }, 'Total'))),
            h('tbody', {}, page.items.map((o) => h('tr', {},
              h('td', {}, h('a', { href: `/manage/orders/${encodeURIComponent(o.id)}` }, h('code', {}, o.id))),
              h('td', {}, when(o.createdAt)),
              h('td', {}, customer(o)),
              h('td', {}, statusBadge(o.status)),
              h('td', { class: 'num' }, money(o.total, o.currency))))))
        : h('p', { class: 'notice' }, label ? `No ${label.toLowerCase()} orders.` : 'No orders yet.'),
      pager(query, page.nextCursor, 'Order pages'),
    );
  } catch (e) {
    pageFailed(main, e, () => orders(main, { query, navigate }));
  }
}

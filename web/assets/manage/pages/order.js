// One order for an admin: lines and totals, address, payment, the history
// timeline, and the moves its status allows (ship with a tracking number,
// deliver, refund after a confirmation).

import { api, ApiError } from '../../common/api.js';
import { h, mount, money, when, field, showErrors, busy, announce, describe } from '../../common/dom.js';
import { pageFailed, formFailed, statusBadge, confirmButton, ORDER_STATUSES } from '../console.js';

const label = (status) => ORDER_STATUSES.find(([s]) => s === status)?.[1] ?? status;

/** Renders the order. */
export default async function order(main, context) {
  try {
    const data = await api('GET', `/api/orders/${encodeURIComponent(context.params.id)}`);
    render(main, data);
  } catch (e) {
    pageFailed(main, e, () => order(main, context));
  }
}

function render(main, o) {
  document.title = `Order ${o.id} · Manage · jojomart`;
  const a = o.shippingAddress || {};
  mount(
    main,
    h('h1', {}, 'Order ', h('code', {}, o.id)),
    h('p', { class: 'row' }, statusBadge(o.status), h('span', {}, `Placed ${when(o.createdAt)}`),
      h('a', { href: '/manage/orders' }, 'Back to the orders')),
    h('div', { class: 'layout-2' },
      h('div', {},
        h('section', { 'aria-labelledby': 'lines-h' },
          h('h2', { id: 'lines-h' }, 'Items'),
          h('table', {},
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col' }, 'Product'),
              h('th', { scope: 'col', class: 'num' }, 'Unit price'),
              h('th', { scope: 'col', class: 'num' }, 'Quantity'),
              h('th', { scope: 'col', class: 'num' }, 'Line total'))),
            h('tbody', {}, o.items.map((l) => h('tr', {},
              h('td', {}, h('a', { href: `/manage/products/${encodeURIComponent(l.productId)}` }, l.name)),
              h('td', { class: 'num' }, money(l.unitPrice, o.currency)),
              h('td', { class: 'num' }, String(l.quantity)),
              h('td', { class: 'num' }, money(l.lineTotal, o.currency))))),
            h('tfoot', {},
              total('Subtotal', o.subtotal, o.currency),
              total('Shipping', o.shipping, o.currency),
              total('Tax', o.tax, o.currency),
              total('Total', o.total, o.currency, true)))),
        h('section', { 'aria-labelledby': 'history-h' },
          h('h2', { id: 'history-h' }, 'History'),
          h('ol', { class: 'timeline', 'aria-label': 'Status history, oldest first' }, o.history.map((e) => h('li', {},
            h('strong', {}, label(e.status)), ' ', h('time', { datetime: e.at }, when(e.at)),
            e.note ? h('p', { class: 'muted' }, e.note) : null))))),
      h('div', {},
        h('section', { 'aria-labelledby': 'actions-h', class: 'card' },
          h('h2', { id: 'actions-h' }, 'Actions'),
          actions(main, o)),
        h('section', { 'aria-labelledby': 'customer-h' },
          h('h2', { id: 'customer-h' }, 'Customer'),
          h('p', {}, o.email || 'No email (guest or erased account)'),
          h('h3', {}, 'Ships to'),
          h('address', {}, [a.name, a.line1, a.line2, `${a.postalCode ?? ''} ${a.city ?? ''}`.trim(), a.country]
            .filter(Boolean).map((line) => h('div', {}, line)))),
        h('section', { 'aria-labelledby': 'payment-h' },
          h('h2', { id: 'payment-h' }, 'Payment'),
          h('dl', { class: 'pairs' },
            h('dt', {}, 'Status'), h('dd', {}, o.payment?.status ?? ''),
            h('dt', {}, 'Gateway reference'), h('dd', {}, o.payment?.gatewayRef ? h('code', {}, o.payment.gatewayRef) : '—'),
            o.payment?.failureMessage ? [h('dt', {}, 'Failure'), h('dd', {}, o.payment.failureMessage)] : null,
            o.trackingNumber ? [h('dt', {}, 'Tracking number'), h('dd', {}, h('code', {}, o.trackingNumber))] : null)))),
  );
}

function total(name, amount, currency, strong = false) {
  const value = money(amount, currency);
  return h('tr', {}, h('th', { scope: 'row', colspan: 3, class: 'num' }, name), h('td', { class: 'num' }, strong ? h('strong', {}, value) : value));
}

/** The moves this status allows; each re-renders the page with the answered order. */
function actions(main, o) {
  const path = `/api/orders/${encodeURIComponent(o.id)}`;
  const done = (updated, text) => {
    render(main, updated);
    announce(text, 'ok');
    const heading = main.querySelector('h1');
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  };
  const parts = [];
  // a 409 means the order moved on meanwhile: show it as it is now, and why
  const failed = async (form, error) => {
    if (error instanceof ApiError && error.status === 409) {
      try {
        render(main, await api('GET', path));
        announce(`${describe(error)}. The order as it is now is shown.`, 'error');
        return;
      } catch {
        /* fall through: the message on the form */
      }
    }
    formFailed(form, error, showErrors);
  };

  if (o.status === 'paid') {
    const ship = h(
      'form',
      { novalidate: true, onsubmit: submitShip, 'aria-label': 'Mark shipped' },
      h('div', { class: 'form-message', role: 'alert' }),
      field('Tracking number', { name: 'trackingNumber', required: true, maxlength: 100, autocomplete: 'off' }),
      h('button', { type: 'submit' }, 'Mark shipped'),
    );
    parts.push(ship);
    async function submitShip(e) {
      e.preventDefault();
      const trackingNumber = new FormData(ship).get('trackingNumber').toString().trim();
      await busy(ship, async () => {
        try {
          if (!trackingNumber) {
            throw new ApiError(400, { title: 'Check the highlighted fields.', errors: [{ field: 'trackingNumber', message: 'enter the carrier’s tracking number' }] });
          }
          done(await api('PATCH', `${path}/status`, { body: { status: 'shipped', trackingNumber } }), 'Marked shipped.');
        } catch (error) {
          await failed(ship, error);
        }
      });
    }
  }

  if (o.status === 'shipped') {
    const deliver = h(
      'form',
      { onsubmit: submitDeliver, 'aria-label': 'Mark delivered' },
      h('div', { class: 'form-message', role: 'alert' }),
      h('button', { type: 'submit' }, 'Mark delivered'),
    );
    parts.push(deliver);
    async function submitDeliver(e) {
      e.preventDefault();
      await busy(deliver, async () => {
        try {
          done(await api('PATCH', `${path}/status`, { body: { status: 'delivered' } }), 'Marked delivered.');
        } catch (error) {
          await failed(deliver, error);
        }
      });
    }
  }

  if (['paid', 'shipped', 'delivered'].includes(o.status)) {
    parts.push(
      h('div', { class: 'refund' },
        confirmButton(
          'Refund',
          `Refund ${money(o.total, o.currency)} to the customer? This cannot be undone.`,
          'Yes, refund',
          async (box) => {
            try {
              done(await api('POST', `${path}/refund`), 'Refunded.');
            } catch (error) {
              await failed(box, error);
            }
          },
        )),
    );
  }

  return parts.length ? parts : h('p', {}, `Nothing to do: the order is ${label(o.status).toLowerCase()}.`);
}

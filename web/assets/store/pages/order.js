// One order: its lines and totals, where it goes, the payment, the status
// timeline, the tracking number once shipped, and Cancel (with a confirm
// step) while it is paid. An order still awaiting payment (back from 3-D
// Secure) is re-read every second for up to 15 s until its status changes.
// Guests read their order with the access token checkout gave them (kept in
// this browser, or `?token=` in the address).

import { api, session, ApiError } from '../../common/api.js';
import { h, mount, money, when, errorPage, describe, announce } from '../../common/dom.js';
import { statusBadge, statusText, orderNumber, orderTokens, addressBlock, signInPrompt } from '../shopper.js';

const POLL_MS = 1000;
const POLL_FOR_MS = 15_000;

const PAYMENT = {
  pending: 'Being processed',
  requires_action: 'Waiting for your confirmation (3-D Secure)',
  succeeded: 'Paid',
  failed: 'Failed',
  refunded: 'Refunded',
  canceled: 'Cancelled',
};

/** Renders the order page. */
export default async function orderPage(main, { params, query, isCurrent }) {
  const id = params.id;
  document.title = `Order ${orderNumber(id)} · jojomart`;
  const token = query.get('token') || orderTokens.get(id);
  if (query.get('token')) orderTokens.set(id, query.get('token'));
  if (!session.signedIn() && !token) {
    signInPrompt(main, 'Your order', 'Sign in to see this order.');
    return;
  }
  const headers = !session.signedIn() && token ? { 'X-Order-Token': token } : {};
  const load = () => api('GET', `/api/orders/${encodeURIComponent(id)}`, { headers });

  let order;
  try {
    order = await load();
  } catch (e) {
    errorPage(main, e, () => orderPage(main, { params, query, isCurrent }));
    return;
  }
  if (!isCurrent()) return;

  // Live message of the wait for the payment (a polite live region in the page).
  const waiting = h('div', { role: 'status', 'aria-live': 'polite', class: 'waiting' });
  const placed = query.get('placed') === '1';
  const backFrom3ds = query.get('redirect_status');
  let thanks = placed || backFrom3ds === 'succeeded'; // until the shopper acts on the order

  function render() {
    const pay = order.payment || {};
    const redirect = pay.nextAction?.redirectUrl;
    mount(main,
      h('h1', {}, `Order ${orderNumber(order.id)}`),
      thanks
        ? h('p', { class: 'notice ok' }, 'Thank you for your order! ',
          order.email ? `A confirmation goes to ${order.email}.` : null)
        : null,
      order.status === 'pending_payment' || waiting.hasChildNodes() ? waiting : null,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', { 'data-testid': 'order-status' }, statusBadge(order.status)),
        h('dt', {}, 'Placed'), h('dd', {}, when(order.createdAt)),
        h('dt', {}, 'Payment'), h('dd', { 'data-testid': 'payment-status' }, PAYMENT[pay.status] ?? pay.status,
          pay.failureMessage ? ` — ${pay.failureMessage}` : null),
        order.trackingNumber ? [h('dt', {}, 'Tracking number'), h('dd', {}, order.trackingNumber)] : null,
        h('dt', {}, 'Reference'), h('dd', { class: 'muted' }, order.id)),
      order.status === 'pending_payment' && pay.status === 'requires_action' && redirect && !backFrom3ds
        ? h('p', {}, h('a', { class: 'button', href: redirect }, 'Confirm the payment with your bank'))
        : null,
      order.status === 'paid' && session.signedIn() ? cancelControl() : null,
      h('div', { class: 'layout-2' },
        h('section', { 'aria-labelledby': 'items-h' },
          h('h2', { id: 'items-h' }, 'Items'),
          h('table', {},
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col' }, 'Item'),
              h('th', { scope: 'col', class: 'num' }, 'Price'),
              h('th', { scope: 'col', class: 'num' }, 'Qty'),
              h('th', { scope: 'col', class: 'num' }, 'Total'))),
            h('tbody', {}, order.items.map((i) => h('tr', {},
              h('td', {}, h('a', { href: `/products/${encodeURIComponent(i.productId)}` }, i.name)),
              h('td', { class: 'num' }, money(i.unitPrice, order.currency)),
              h('td', { class: 'num' }, i.quantity),
              h('td', { class: 'num' }, money(i.lineTotal, order.currency))))),
            h('tfoot', {},
              total('Subtotal', order.subtotal),
              total('Shipping', order.shipping),
              total('Tax', order.tax),
              total('Total', order.total, true)))),
        h('section', { 'aria-labelledby': 'ship-h' },
          h('h2', { id: 'ship-h' }, 'Shipping to'),
          addressBlock(order.shippingAddress),
          h('h2', { id: 'history-h' }, 'History'),
          h('ol', { class: 'timeline', 'aria-labelledby': 'history-h' },
            order.history.map((step) => h('li', { 'data-status': step.status },
              h('strong', {}, statusText(step.status)),
              h('time', { datetime: step.at }, when(step.at)),
              step.note ? h('p', { class: 'muted' }, step.note) : null))))),
      session.signedIn() ? h('p', {}, h('a', { href: '/orders' }, 'All your orders')) : null);
  }

  function total(label, minor, strong = false) {
    const value = money(minor, order.currency);
    return h('tr', {}, h('th', { scope: 'row', colspan: 3 }, label),
      h('td', { class: 'num' }, strong ? h('strong', {}, value) : value));
  }

  // Cancel, in two steps: the button shows what cancelling does and asks again
  // (focus lands on "Keep the order", so a stray Enter cancels nothing).
  function cancelControl() {
    const box = h('div', { class: 'cancel' });
    const ask = () => mount(box,
      h('p', {}, 'Cancel this order? You get a full refund and the items go back on the shelf.'),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'danger', onclick: confirm }, 'Yes, cancel the order'),
        h('button', { type: 'button', class: 'secondary', onclick: start }, 'Keep the order')));
    const start = () => {
      mount(box, h('button', { type: 'button', class: 'secondary', onclick: () => { ask(); box.querySelector('button.secondary').focus(); } }, 'Cancel order'));
    };
    async function confirm(e) {
      e.target.disabled = true;
      try {
        order = await api('POST', `/api/orders/${encodeURIComponent(order.id)}/cancel`);
        thanks = false;
        render();
        announce('Your order is cancelled. The refund is on its way.', 'ok');
        main.querySelector('h1')?.focus();
      } catch (error) {
        mount(box, h('p', { class: 'notice error', role: 'alert' }, describe(error)));
        if (error instanceof ApiError && error.status === 409) {
          // it moved on (shipped, say): show where it stands now
          try {
            order = await load();
            render();
          } catch {
            /* the message above stays */
          }
        }
      }
    }
    start();
    return box;
  }

  render();
  if (placed || backFrom3ds) {
    // one-off arrival details (and the gateway's client secret) leave the address bar
    history.replaceState(history.state, '', `/orders/${encodeURIComponent(id)}`);
  }
  if (order.status === 'pending_payment') poll(); // not awaited: the page is shown meanwhile

  // Back from 3-D Secure (or placed moments ago), the payment may still be
  // settling: re-read until the status moves, for up to 15 seconds.
  async function poll() {
    mount(waiting, h('p', { class: 'notice' }, 'Waiting for the payment to be confirmed…'));
    const started = Date.now();
    while (isCurrent() && Date.now() - started < POLL_FOR_MS) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (!isCurrent()) return;
      let next;
      try {
        next = await load();
      } catch {
        continue; // a blip: try again on the next tick
      }
      if (next.status !== order.status) {
        order = next;
        render();
        mount(waiting, h('p', { class: `notice ${order.status === 'paid' ? 'ok' : 'error'}` },
          order.status === 'paid' ? 'Your payment is confirmed.' : `The payment did not go through: ${statusText(order.status)}.`));
        return;
      }
    }
    if (isCurrent()) {
      mount(waiting, h('p', { class: 'notice' },
        'The payment is not confirmed yet. Reload this page in a moment to see where it stands.'));
    }
  }
}

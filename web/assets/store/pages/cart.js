// The cart: its lines with a quantity to change (0 removes) and a remove
// button, the subtotal, and the way to checkout. Works signed in or
// anonymously (api.js sends the anonymous cart's X-Cart-Id).

import { api, ApiError } from '../../common/api.js';
import { h, mount, money, errorPage, showErrors, clearErrors, announce, busy } from '../../common/dom.js';

/** Renders `/cart`. */
export default async function cart(main, { isCurrent }) {
  document.title = 'Your cart · jojomart';
  let current;
  try {
    current = await api('GET', '/api/cart');
  } catch (e) {
    errorPage(main, e, () => cart(main, { isCurrent }));
    return;
  }
  if (!isCurrent()) return;
  render(main, current);
}

function changed(next, main, message) {
  document.dispatchEvent(new Event('jojomart:cart-changed'));
  render(main, next);
  announce(message, 'ok');
  // the line that had focus is gone: put the reader back at the top of the cart
  main.querySelector('h1')?.focus();
}

function render(main, c) {
  if (!c.items.length) {
    mount(main,
      h('h1', { tabindex: '-1' }, 'Your cart'),
      h('div', { class: 'notice empty' },
        h('p', {}, 'Your cart is empty.'),
        h('p', {}, h('a', { href: '/search' }, 'Browse the shop'))));
    return;
  }
  const count = c.items.reduce((n, i) => n + i.quantity, 0);
  mount(main,
    h('h1', { tabindex: '-1' }, 'Your cart'),
    h('table', { class: 'cart' },
      h('caption', { class: 'visually-hidden' }, `Your cart: ${count} ${count === 1 ? 'item' : 'items'}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Product'),
        h('th', { scope: 'col', class: 'num' }, 'Price'),
        h('th', { scope: 'col' }, 'Quantity'),
        h('th', { scope: 'col', class: 'num' }, 'Total'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Remove')))),
      h('tbody', {}, c.items.map((item) => line(item, c.currency, main))),
      h('tfoot', {}, h('tr', {},
        h('th', { scope: 'row', colspan: 3 }, 'Subtotal'),
        h('td', { class: 'num subtotal' }, money(c.subtotal, c.currency)),
        h('td', {})))),
    h('p', { class: 'muted' }, 'Shipping and tax are added at checkout.'),
    h('p', { class: 'row cart-actions' },
      h('a', { class: 'button', href: '/checkout' }, 'Check out'),
      h('a', { href: '/search' }, 'Continue shopping')),
  );
}

/** One line: a small form for its quantity, and its remove button. */
function line(item, currency, main) {
  const id = `qty-${item.productId}`;
  const form = h('form', { class: 'qty', novalidate: true, onsubmit: update },
    h('label', { for: id, class: 'visually-hidden' }, `Quantity of ${item.name}`),
    h('input', { id, name: 'quantity', type: 'number', min: 0, value: item.quantity, inputmode: 'numeric', size: 4 }),
    h('button', { type: 'submit', class: 'secondary' }, 'Update', h('span', { class: 'visually-hidden' }, ` quantity of ${item.name}`)),
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
    h('div', { class: 'form-message', role: 'alert' }),
  );

  async function update(e) {
    e.preventDefault();
    clearErrors(form);
    const quantity = Number(form.elements.quantity.value);
    if (!Number.isInteger(quantity) || quantity < 0) {
      showErrors(form, new ApiError(400, { errors: [{ field: 'quantity', message: 'Enter a whole number (0 removes the item).' }] }));
      return;
    }
    await busy(form, async () => {
      try {
        const next = await api('PATCH', `/api/cart/items/${encodeURIComponent(item.productId)}`, { body: { quantity } });
        changed(next, main, quantity ? `${item.name}: quantity is now ${quantity}.` : `${item.name} was removed from your cart.`);
      } catch (err) {
        announce('');
        showErrors(form, err instanceof ApiError && err.status === 409
          ? new ApiError(409, { errors: [{ field: 'quantity', message: 'Not that many are available.' }] })
          : err);
      }
    });
  }

  async function remove(e) {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const next = await api('DELETE', `/api/cart/items/${encodeURIComponent(item.productId)}`);
      changed(next, main, `${item.name} was removed from your cart.`);
    } catch (err) {
      button.disabled = false;
      showErrors(form, err);
    }
  }

  return h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `/products/${encodeURIComponent(item.productId)}` }, item.name)),
    h('td', { class: 'num' }, money(item.unitPrice, currency)),
    h('td', {}, form),
    h('td', { class: 'num' }, money(item.lineTotal, currency)),
    h('td', {}, h('button', { type: 'button', class: 'link', onclick: remove, 'aria-label': `Remove ${item.name}` }, 'Remove')),
  );
}

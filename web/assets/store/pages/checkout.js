// Checkout: the cart's summary, where it goes (a saved address, a new one
// that can be saved to the address book, or a guest's email and address),
// the payment simulator's test cards, and Place order.
//
// Idempotency: one `Idempotency-Key` per attempt. A network error keeps the
// attempt, so pressing Place order again with the same choices sends the same
// key and the shop places (and charges) the order at most once; any answer
// from the shop (a decline, not enough stock, a field error) ends the
// attempt, and the next press is a new one with a new key.
//
// 3-D Secure: the order id is not known before the call, so `returnUrl` is
// `${origin}/orders/{ORDER_ID}`; the shop puts the order's id in its place
// before handing it to the gateway, whose page sends the shopper back to the
// order page (with `?payment_intent=…&redirect_status=…` appended), which
// waits for the payment to settle.

import { api, session, idempotencyKey, ApiError, NetworkError } from '../../common/api.js';
import { h, mount, money, errorPage, showErrors, clearErrors, busy, describe, field } from '../../common/dom.js';
import { addressFields, addressValues, addressOneLine, orderTokens } from '../shopper.js';

/** The simulator's test cards (Stripe's test PaymentMethod ids), in plain words. */
const CARDS = [
  ['pm_card_visa', 'Visa: the payment succeeds'],
  ['pm_card_chargeDeclined', 'Declined card: the bank says no'],
  ['pm_card_chargeDeclinedInsufficientFunds', 'Card without funds: declined for insufficient funds'],
  ['pm_card_threeDSecure2Required', '3-D Secure card: your bank asks you to confirm'],
];

const NEW = 'new';

/** A group of radio buttons in a fieldset, with room for the API's error about `name`. */
function radios(legend, name, choices, checked) {
  return h('fieldset', { class: 'group choices' },
    h('legend', {}, legend),
    choices.map(([value, label], i) =>
      h('div', { class: 'choice' },
        h('input', { type: 'radio', name, value, id: `${name}-${i}`, checked: value === checked }),
        h('label', { for: `${name}-${i}` }, label))),
    // showErrors finds a field's error slot as `#<id of the first control>-error`
    h('p', { class: 'field-error', id: `${name}-0-error`, hidden: true }));
}

/** Renders the checkout. */
export default async function checkout(main, ctx) {
  const { navigate } = ctx;
  document.title = 'Checkout · jojomart';
  let cart;
  let me = null;
  try {
    [cart, me] = await Promise.all([
      api('GET', '/api/cart'),
      session.signedIn() ? api('GET', '/api/users/me') : null,
    ]);
  } catch (e) {
    errorPage(main, e, () => checkout(main, ctx));
    return;
  }
  if (!cart.items.length) {
    mount(main, h('h1', {}, 'Checkout'),
      h('p', {}, 'Your cart is empty, so there is nothing to check out yet.'),
      h('p', {}, h('a', { href: '/' }, 'Continue shopping')));
    return;
  }

  const addresses = me?.addresses ?? [];
  const addressSection = h('div', {});
  const form = h('form', { novalidate: true, 'aria-labelledby': 'checkout-h' },
    h('div', { class: 'form-message', role: 'alert' }),
    me ? null : h('fieldset', { class: 'group' },
      h('legend', {}, 'Contact'),
      h('p', {}, 'Checking out as a guest. ', h('a', { href: '/login?next=/checkout' }, 'Sign in'), ' to use your address book.'),
      field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' },
        'We send the order confirmation here.')),
    h('fieldset', { class: 'group' }, h('legend', {}, 'Shipping address'), addressSection),
    radios('Payment (test cards of the payment simulator; no money moves)', 'paymentMethod', CARDS, CARDS[0][0]),
    h('button', { type: 'submit' }, 'Place order'));

  // Saved addresses as choices, plus "a new address" (with its form) for a
  // signed-in shopper; a guest gets the form alone.
  function renderAddresses(selected) {
    const newForm = h('div', { class: 'new-address' },
      addressFields('shippingAddress.', 'ship'),
      me ? h('div', { class: 'checkbox' },
        h('input', { type: 'checkbox', name: 'saveAddress', id: 'save-address', checked: true }),
        h('label', { for: 'save-address' }, 'Save to my address book')) : null);
    if (!me || !addresses.length) {
      mount(addressSection, newForm);
      return;
    }
    const choice = radios('Send it to', 'addressId',
      [...addresses.map((a) => [a.id, addressOneLine(a)]), [NEW, 'A new address']],
      selected ?? addresses[0].id);
    const sync = () => {
      newForm.hidden = new FormData(form).get('addressId') !== NEW;
    };
    choice.addEventListener('change', sync);
    mount(addressSection, choice, newForm);
    sync();
  }
  renderAddresses();

  let attempt = null; // {key, body} of the attempt a network error interrupted

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, () => place());
  });

  async function place() {
    clearErrors(form);
    const data = new FormData(form);
    const body = { paymentMethod: data.get('paymentMethod') };
    const chosen = data.get('addressId');
    try {
      if (chosen && chosen !== NEW) {
        body.addressId = chosen;
      } else if (me && data.get('saveAddress')) {
        body.addressId = await saveAddress();
      } else {
        body.shippingAddress = addressValues(form, 'shippingAddress.');
      }
    } catch (error) {
      showErrors(form, error);
      return;
    }
    if (!me) body.email = (data.get('email') ?? '').toString().trim();
    body.returnUrl = `${location.origin}/orders/{ORDER_ID}`;

    if (!attempt || JSON.stringify(attempt.body) !== JSON.stringify(body)) {
      attempt = { key: idempotencyKey(), body };
    }
    let order;
    try {
      order = await api('POST', '/api/orders', { body, headers: { 'Idempotency-Key': attempt.key } });
    } catch (error) {
      if (error instanceof NetworkError) {
        message(h('p', { class: 'error' }, error.message,
          ' Press Place order again when you are back online: the order will not be placed twice.'));
        return;
      }
      attempt = null;
      failed(error);
      return;
    }
    attempt = null;
    if (order.accessToken) orderTokens.set(order.id, order.accessToken);
    document.dispatchEvent(new Event('jojomart:cart-changed'));
    const redirect = order.payment?.nextAction?.redirectUrl;
    if (order.payment?.status === 'requires_action' && redirect) {
      location.assign(redirect); // the gateway's page; it sends the shopper back to the order
      return;
    }
    navigate(`/orders/${encodeURIComponent(order.id)}?placed=1`);
  }

  // Saves the new address to the address book and answers its id; its field
  // errors come back named like the checkout's inputs.
  async function saveAddress() {
    let saved;
    try {
      saved = await api('POST', '/api/users/me/addresses', { body: addressValues(form, 'shippingAddress.') });
    } catch (error) {
      if (error instanceof ApiError) {
        error.errors = error.errors.map((f) => ({ ...f, field: `shippingAddress.${f.field}` }));
      }
      throw error;
    }
    addresses.push(saved);
    renderAddresses(saved.id); // a retry (another card) uses the saved address
    return saved.id;
  }

  function message(...children) {
    mount(form.querySelector('.form-message'), children);
    form.querySelector('.form-message').scrollIntoView?.({ block: 'nearest' });
  }

  function failed(error) {
    if (error instanceof ApiError && error.status === 402) {
      message(
        h('p', { class: 'error' }, h('strong', {}, 'Your payment was declined: '), error.problem.detail || describe(error)),
        h('p', {}, 'Nothing was charged and the order is kept as "payment failed" in ',
          h('a', { href: '/orders' }, 'your orders'),
          '. Your cart is unchanged: choose another card and place the order again.'));
      form.querySelector('[name="paymentMethod"]:checked')?.focus();
      return;
    }
    if (error instanceof ApiError && error.status === 409) {
      message(h('p', { class: 'error' }, describe(error)),
        h('p', {}, 'Nothing was charged. ', h('a', { href: '/cart' }, 'Review your cart'), ' and try again.'));
      return;
    }
    showErrors(form, error);
  }

  mount(main,
    h('h1', { id: 'checkout-h' }, 'Checkout'),
    h('div', { class: 'layout-2' },
      form,
      h('aside', { 'aria-labelledby': 'summary-h', class: 'summary' },
        h('h2', { id: 'summary-h' }, 'Your cart'),
        h('table', {},
          h('caption', { class: 'visually-hidden' }, 'Items in your cart'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
          h('tbody', {}, cart.items.map((i) => h('tr', {},
            h('td', {}, i.name), h('td', { class: 'num' }, i.quantity), h('td', { class: 'num' }, money(i.lineTotal, cart.currency))))),
          h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 2 }, 'Subtotal'), h('td', { class: 'num' }, money(cart.subtotal, cart.currency))))),
        h('p', { class: 'muted' }, 'Shipping and tax are worked out for your address when you place the order.'),
        h('p', {}, h('a', { href: '/cart' }, 'Change your cart')))));
}

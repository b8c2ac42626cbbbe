// What the shopper's own pages (checkout, orders, notifications, account)
// share: the sign-in prompt, order statuses as words, guest order tokens,
// the address form and how an address reads, and a forward-only pager.

import { h, mount, field } from '../common/dom.js';

/** A page that needs a signed-in shopper says so, with a way to sign in. */
export function signInPrompt(main, title, why) {
  document.title = `${title} · jojomart`;
  const next = encodeURIComponent(location.pathname + location.search);
  mount(
    main,
    h('h1', {}, title),
    h('p', {}, why),
    h('p', { class: 'row' },
      h('a', { class: 'button', href: `/login?next=${next}` }, 'Sign in'),
      h('a', { class: 'button secondary', href: `/register?next=${next}` }, 'Create an account')),
  );
}

const STATUS = {
  pending_payment: ['Awaiting payment', 'warn'],
  payment_failed: ['Payment failed', 'danger'],
  paid: ['Paid', 'ok'],
  shipped: ['Shipped', 'ok'],
  delivered: ['Delivered', 'ok'],
  cancelled: ['Cancelled', 'danger'],
  refunded: ['Refunded', 'warn'],
};

/** An order status in words (`payment_failed` → "Payment failed"). */
export function statusText(status) {
  return STATUS[status]?.[0] ?? status;
}

/** An order status as a badge; the raw status is kept in `data-status` for scripts and tests. */
export function statusBadge(status) {
  const [text, kind] = STATUS[status] ?? [status, ''];
  return h('span', { class: `badge ${kind}`, 'data-status': status }, text);
}

/** A short, readable order number from its opaque id. */
export function orderNumber(id) {
  return `#${String(id).slice(0, 8).toUpperCase()}`;
}

const TOKENS = 'jojomart.orderTokens';

/** A guest order's access token (returned once by checkout), kept in this browser. */
export const orderTokens = {
  get(id) {
    try {
      return JSON.parse(localStorage.getItem(TOKENS) || '{}')[id] ?? null;
    } catch {
      return null;
    }
  },
  set(id, token) {
    let all = {};
    try {
      all = JSON.parse(localStorage.getItem(TOKENS) || '{}');
    } catch {
      /* start over */
    }
    all[id] = token;
    localStorage.setItem(TOKENS, JSON.stringify(all));
  },
};

/**
 * The fields of an address. `prefix` is put before each input's name so the
 * API's field errors land next to them (`shippingAddress.` at checkout, where
 * the API answers `shippingAddress.postalCode`; nothing in the address book).
 * `idPrefix` keeps ids unique when a page has two address forms.
 */
export function addressFields(prefix = '', idPrefix = 'addr') {
  const f = (label, name, attrs = {}, hint = null) =>
    field(label, { name: `${prefix}${name}`, id: `${idPrefix}-${name}`, ...attrs }, hint);
  return [
    f('Full name', 'name', { required: true, autocomplete: 'name' }),
    f('Street and number', 'line1', { required: true, autocomplete: 'address-line1' }),
    f('Apartment, floor (optional)', 'line2', { autocomplete: 'address-line2' }),
    h('div', { class: 'row top' },
      f('Postal code', 'postalCode', { required: true, autocomplete: 'postal-code' }),
      f('City', 'city', { required: true, autocomplete: 'address-level2' })),
    f('Country', 'country', { required: true, autocomplete: 'country', maxlength: 2, class: 'short' },
      'Two-letter code, such as DE, FR or US.'),
  ];
}

/** Reads the address fields of `form` back into the API's shape. */
export function addressValues(form, prefix = '') {
  const get = (name) => (new FormData(form).get(`${prefix}${name}`) ?? '').toString().trim();
  const address = {
    name: get('name'),
    line1: get('line1'),
    city: get('city'),
    postalCode: get('postalCode'),
    country: get('country').toUpperCase(),
  };
  const line2 = get('line2');
  if (line2) address.line2 = line2;
  return address;
}

/** An address as lines of text. */
export function addressLines(a) {
  return [a.name, a.line1, a.line2, `${a.postalCode} ${a.city}`, a.country].filter(Boolean);
}

/** An address as one line (for a radio label or a button's name). */
export function addressOneLine(a) {
  return addressLines(a).join(', ');
}

/** An address block. */
export function addressBlock(a) {
  return h('address', { class: 'postal' }, addressLines(a).flatMap((line, i) => (i ? [h('br'), line] : [line])));
}

/**
 * Links for a cursor-paged list: "Next page" when there is one, "First page"
 * when this is not the first. (Cursors only go forward; the browser's Back
 * button returns to the previous page.)
 */
export function pager(path, label, cursor, nextCursor) {
  if (!cursor && !nextCursor) return null;
  return h('nav', { class: 'pager', 'aria-label': label },
    cursor ? h('a', { href: path }, 'First page') : null,
    nextCursor ? h('a', { href: `${path}?cursor=${encodeURIComponent(nextCursor)}`, rel: 'next' }, 'Next page') : null);
}

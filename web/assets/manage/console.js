// What every console page shares: sending a lost session back to the sign-in
// gate, page-level errors, headline figures, paging links, in-page
// confirmations, and the labels of order statuses.

import { ApiError } from '../common/api.js';
import { h, mount, errorPage, describe } from '../common/dom.js';

/** Fired on `document` when a call answers 401 or 403: app.js shows the gate. */
export const AUTH_LOST = 'jojomart:manage-auth-lost';

/**
 * True (and the gate is shown) when `error` says the caller is not, or no
 * longer, an admin: a 401 the refresh could not mend, or a 403.
 */
export function authLost(error) {
  if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 403)) return false;
  document.dispatchEvent(new CustomEvent(AUTH_LOST, { detail: { status: error.status } }));
  return true;
}

/** A page that could not load: the gate for 401/403, else the error with a retry. */
export function pageFailed(main, error, retry) {
  if (authLost(error)) return;
  errorPage(main, error, retry);
}

/** Shows `error` on a form, unless it sends the admin back to the gate. */
export function formFailed(form, error, showErrors) {
  if (authLost(error)) return;
  showErrors(form, error);
}

/** The same error with its message put next to `field` (for answers without `errors`, like 409 or 415). */
export function onField(error, field) {
  if (!(error instanceof ApiError) || error.errors.length) return error;
  const moved = new ApiError(error.status, { ...error.problem, errors: [{ field, message: describe(error) }] });
  moved.retryAfter = error.retryAfter;
  return moved;
}

/** A client-side field error, shaped like the API's 400 so `showErrors` places it. */
export function fieldError(field, message) {
  return new ApiError(400, { title: 'Check the highlighted fields.', status: 400, errors: [{ field, message }] });
}

/** Headline figures: `[[label, value], ...]` as a list of cards. */
export function stats(items, label) {
  return h(
    'div',
    { role: 'group', 'aria-label': label },
    h('dl', { class: 'stats' }, items.map(([term, value]) => h('div', { class: 'stat' }, h('dt', {}, term), h('dd', {}, value)))),
  );
}

/** "First page" / "Next page" links for cursor paging of the current URL. */
export function pager(query, nextCursor, label) {
  const first = new URLSearchParams(query);
  first.delete('cursor');
  const next = new URLSearchParams(query);
  if (nextCursor) next.set('cursor', nextCursor);
  const path = location.pathname;
  const links = [
    query.get('cursor') ? h('a', { href: `${path}${first.toString() ? `?${first}` : ''}` }, 'First page') : null,
    nextCursor ? h('a', { href: `${path}?${next}`, rel: 'next' }, 'Next page') : null,
  ].filter(Boolean);
  return links.length ? h('nav', { class: 'pager', 'aria-label': label }, links) : null;
}

/**
 * A button that asks before it acts: the first press shows `question` with
 * "confirm" and "keep" buttons in place of it; `action` runs on confirm.
 */
export function confirmButton(text, question, confirmText, action, { danger = true } = {}) {
  const box = h('div', { class: 'confirm' });
  const ask = () => {
    const yes = h('button', { type: 'button', class: danger ? 'danger' : null, onclick: () => action(box) }, confirmText);
    mount(
      box,
      h('p', { role: 'alert' }, question),
      h('div', { class: 'row' }, yes, h('button', { type: 'button', class: 'secondary', onclick: reset }, 'Keep it')),
      h('div', { class: 'form-message', role: 'alert' }),
    );
    yes.focus();
  };
  const reset = () => {
    const button = h('button', { type: 'button', class: danger ? 'danger' : null, onclick: ask }, text);
    mount(box, button);
    return button;
  };
  reset();
  return box;
}

/** The contract's order statuses with their labels, in the order they happen. */
export const ORDER_STATUSES = [
  ['pending_payment', 'Pending payment'],
  ['paid', 'Paid'],
  ['shipped', 'Shipped'],
  ['delivered', 'Delivered'],
  ['payment_failed', 'Payment failed'],
  ['cancelled', 'Cancelled'],
  ['refunded', 'Refunded'],
];

const STATUS_KIND = { paid: 'warn', shipped: 'ok', delivered: 'ok', payment_failed: 'danger', cancelled: 'danger', refunded: 'danger' };

/** An order status as a badge. */
export function statusBadge(status) {
  const label = ORDER_STATUSES.find(([s]) => s === status)?.[1] ?? status;
  return h('span', { class: `badge ${STATUS_KIND[status] ?? ''}`.trim() }, label);
}

/** `YYYY-MM-DD` of a Date in UTC. */
export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** The UTC day `days` before today, as `YYYY-MM-DD`. */
export function daysAgo(days) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() - days);
  return isoDay(d);
}

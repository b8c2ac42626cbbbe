// Small DOM helpers both apps build their pages with: elements from data
// (never from HTML strings, so nothing a shopper typed can run), money and
// dates, field errors from problem+json next to their inputs, and the banner
// that says when the API is down.

import { ApiError, NetworkError } from './api.js';

/**
 * Builds an element: `h('a', {href: '/cart', class: 'button'}, 'Cart')`.
 * Attributes starting with `on` are listeners; `class`, `for`, `aria-*`,
 * `data-*` and booleans (`true` sets, `false`/null leaves out) work as in HTML.
 * Children are nodes, strings (text), numbers, arrays, or null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const formats = new Map();

/** Money in minor units, formatted with the currency's own decimals: `money(1999, 'EUR')`. */
export function money(minor, currency) {
  if (minor === null || minor === undefined || !currency) return '';
  let f = formats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat('en', { style: 'currency', currency });
    formats.set(currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(minor / 10 ** digits);
}

/** Parses a price typed in major units ("19.99") into minor units for `currency`. */
export function toMinor(text, currency) {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits;
  const value = Number(String(text).trim());
  if (!Number.isFinite(value)) return NaN;
  return Math.round(value * 10 ** digits);
}

/** Minor units as a major-unit string for an input ("19.99"). */
export function toMajor(minor, currency) {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits;
  return (minor / 10 ** digits).toFixed(digits);
}

/** A date and time, as the reader's locale writes it. */
export function when(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A labelled input with room for its error: `field('Email', {name: 'email', type: 'email'})`. */
export function field(label, attrs = {}, hint = null) {
  const id = attrs.id || `f-${attrs.name}`;
  if (hint) attrs = { ...attrs, 'aria-describedby': `${id}-hint` };
  const control =
    attrs.type === 'textarea'
      ? h('textarea', { ...attrs, type: null, id })
      : attrs.type === 'select'
        ? h('select', { ...attrs, type: null, options: null, id }, attrs.options)
        : h('input', { ...attrs, id });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label, attrs.required ? h('span', { 'aria-hidden': 'true' }, ' *') : null),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    control,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
  );
}

/** Clears a form's field errors and its message. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
  for (const c of form.querySelectorAll('[aria-invalid]')) {
    c.removeAttribute('aria-invalid');
    // back to the hint alone, if the field has one
    const hint = c.id && form.querySelector(`#${CSS.escape(c.id)}-hint`);
    if (hint) c.setAttribute('aria-describedby', hint.id);
    else c.removeAttribute('aria-describedby');
  }
  const message = form.querySelector('.form-message');
  if (message) message.replaceChildren();
}

/**
 * Shows `error` on `form`: each problem+json field error next to the input of
 * that `name` (the first gets focus); anything else in the form's message area.
 */
export function showErrors(form, error) {
  clearErrors(form);
  let first = null;
  const loose = [];
  const errors = error instanceof ApiError ? error.errors : [];
  for (const { field: name, message } of errors) {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const slot = control && form.querySelector(`#${CSS.escape(control.id)}-error`);
    if (control && slot) {
      slot.textContent = message;
      slot.hidden = false;
      control.setAttribute('aria-invalid', 'true');
      const hint = form.querySelector(`#${CSS.escape(control.id)}-hint`);
      control.setAttribute('aria-describedby', hint ? `${hint.id} ${slot.id}` : slot.id);
      first ??= control;
    } else {
      loose.push(`${name}: ${message}`);
    }
  }
  let message = form.querySelector('.form-message');
  if (!message) {
    message = h('div', { class: 'form-message', role: 'alert' });
    form.prepend(message);
  }
  if (!errors.length || loose.length) {
    mount(message, h('p', { class: 'error' }, describe(error)), loose.length ? h('ul', {}, loose.map((l) => h('li', {}, l))) : null);
  }
  if (first) first.focus();
  else message.scrollIntoView?.({ block: 'nearest' });
}

/** One sentence for an error, for a shopper. */
export function describe(error) {
  if (error instanceof NetworkError) return error.message;
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const wait = error.retryAfter ? ` Try again in ${error.retryAfter} seconds.` : '';
      return `Too many attempts.${wait}`;
    }
    return error.message;
  }
  return 'Something went wrong. Please try again.';
}

/** A page-level error: the API is down, not found, or anything else. */
export function errorPage(main, error, retry) {
  const title = error instanceof ApiError && error.status === 404 ? 'Not found' : 'Something went wrong';
  document.title = `${title} · jojomart`;
  mount(
    main,
    h('h1', {}, title),
    h('p', { class: 'notice error', role: 'alert' }, describe(error)),
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null,
  );
}

/** Puts a short message in the page's live region (read out by screen readers). */
export function announce(text, kind = 'info') {
  const region = document.getElementById('status');
  if (!region) return;
  mount(region, text ? h('p', { class: `notice ${kind}` }, text) : null);
}

/** Disables a form's submit button while `work` runs. */
export async function busy(form, work) {
  const button = form.querySelector('[type="submit"]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

/** A form's fields as an object (empty strings dropped). */
export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) {
    if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
  }
  return out;
}

// The admin console: sign-in gate (the `admin` role), navigation, and the
// routes (the same paths as MANAGE_PAGES in functions/http/web.rs).
//
// Every page runs only for a signed-in admin; anyone else gets the gate: a
// sign-in form, or, signed in without the role, a message saying this account
// cannot manage the shop. A page whose call answers 401 or 403 fires
// AUTH_LOST (console.js), which brings the gate back over the page.

import { api, session, signIn, signOut } from '../common/api.js';
import { h, mount, field, showErrors, busy, values, announce } from '../common/dom.js';
import { startRouter } from '../common/router.js';
import { AUTH_LOST } from './console.js';

/** A page module behind the gate. */
const page = (name) => async () => {
  const module = await import(`./pages/${name}.js`);
  return { default: (el, context) => (session.isAdmin() ? module.default(el, context) : gate(el)) };
};

/** Every console page. */
export const ROUTES = [
  { path: '/manage', load: page('dashboard') },
  { path: '/manage/products', load: page('products') },
  { path: '/manage/products/new', load: page('product') },
  { path: '/manage/products/:id', load: page('product') },
  { path: '/manage/orders', load: page('orders') },
  { path: '/manage/orders/:id', load: page('order') },
  { path: '/manage/analytics', load: page('analytics') },
];

const main = document.getElementById('main');

function renderNav() {
  const links = session.isAdmin()
    ? [
        h('a', { href: '/manage' }, 'Dashboard'),
        h('a', { href: '/manage/products' }, 'Products'),
        h('a', { href: '/manage/orders' }, 'Orders'),
        h('a', { href: '/manage/analytics' }, 'Analytics'),
        h('a', { href: '/' }, 'Shop'),
        h('button', { type: 'button', class: 'link', onclick: leave }, 'Sign out'),
      ]
    : [h('a', { href: '/' }, 'Shop')];
  mount(document.getElementById('manage-nav'), h('ul', {}, links.map((l) => h('li', {}, l))));
}

async function leave() {
  await signOut();
  gate(main);
  focusHeading();
}

function focusHeading() {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/**
 * The gate: the sign-in form when nobody (or an expired session) is signed
 * in; the "cannot manage" message for a signed-in account without the role
 * (or one the API just answered 403).
 */
function gate(el, { status } = {}) {
  if (session.signedIn() && (!session.isAdmin() || status === 403)) {
    cannotManage(el);
  } else {
    signInForm(el, status === 401);
  }
}

function cannotManage(el) {
  document.title = 'Not allowed · Manage · jojomart';
  const user = session.user();
  mount(
    el,
    h('h1', {}, 'This account cannot manage the shop'),
    h(
      'p',
      { class: 'notice error', role: 'alert' },
      `You are signed in as ${user?.email ?? 'a shopper'}, which does not hold the admin role. ` +
        'Sign out and sign in with an admin account to manage the shop.',
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', onclick: leave }, 'Sign out'),
      h('a', { class: 'button secondary', href: '/' }, 'Back to the shop'),
    ),
  );
}

function signInForm(el, expired) {
  document.title = 'Sign in · Manage · jojomart';
  const hint = h('p', { class: 'hint gate-hint', hidden: true });
  const form = h(
    'form',
    { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  mount(
    el,
    h('h1', {}, 'Sign in to manage the shop'),
    expired ? h('p', { class: 'notice' }, 'Your session has ended. Sign in again.') : null,
    h('p', {}, 'The console is for the shop’s admins. Sign in with an admin account.'),
    hint,
    form,
  );
  showDevHint(hint);

  async function submit(e) {
    e.preventDefault();
    const { email = '', password = '' } = values(form);
    const stillAdmin = wasAdmin;
    await busy(form, async () => {
      try {
        await signIn('/api/auth/login', { email, password });
      } catch (error) {
        showErrors(form, error);
        return;
      }
      // becoming an admin re-renders the page (session.onChange below)
      if (session.isAdmin()) {
        if (stillAdmin) navigate(location.pathname + location.search, { replace: true });
      } else {
        cannotManage(el);
        focusHeading();
      }
    });
  }
}

/** Names the dev admin, but only when the API says it is `jojomart dev` (the SQLite store). */
async function showDevHint(hint) {
  try {
    const health = await api('GET', '/api/health');
    if (health?.storeKind !== 'sqlite') return;
    hint.textContent =
      'This is a local jojomart dev shop: unless JOJOMART_ADMIN_EMAILS names other accounts, ' +
      'admin@example.com is the admin (register it in the shop first).';
    hint.hidden = false;
  } catch {
    /* no hint when the API cannot tell */
  }
}

function notFound(el) {
  document.title = 'Not found · Manage';
  mount(el, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/manage' }, 'Back to the console')));
}

let wasAdmin = session.isAdmin();
session.onChange(() => {
  renderNav();
  // signed out (or in as someone else) in another tab: show the gate, or the page
  if (session.isAdmin() !== wasAdmin) {
    wasAdmin = session.isAdmin();
    navigate(location.pathname + location.search, { replace: true });
  }
});
document.addEventListener(AUTH_LOST, (e) => {
  gate(main, e.detail);
  focusHeading();
});
renderNav();
// a page's announcement belongs to it: the next page starts with an empty live region
const navigate = startRouter(main, ROUTES, { notFound, onRoute: () => announce('') });

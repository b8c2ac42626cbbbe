// The admin console: sign-in gate (the `admin` role), navigation, and the
// routes (the same paths as MANAGE_PAGES in functions/http/web.rs).

import { session } from '../common/api.js';
import { h, mount } from '../common/dom.js';
import { startRouter } from '../common/router.js';

const page = (name) => () => import(`./pages/${name}.js`);

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
        h('a', { href: '/manage/products' }, 'Products'),
        h('a', { href: '/manage/orders' }, 'Orders'),
        h('a', { href: '/manage/analytics' }, 'Analytics'),
        h('a', { href: '/' }, 'Shop'),
      ]
    : [h('a', { href: '/' }, 'Shop')];
  mount(document.getElementById('manage-nav'), h('ul', {}, links.map((l) => h('li', {}, l))));
}

function notFound(el) {
  document.title = 'Not found · Manage';
  mount(el, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/manage' }, 'Back to the console')));
}

session.onChange(renderNav);
renderNav();
startRouter(main, ROUTES, { notFound });

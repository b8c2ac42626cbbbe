// The storefront: the header's account links and cart count, and the routes
// (the same paths as STORE_PAGES in functions/http/web.rs, which serves them).

import { api, session, signOut, cartId } from '../common/api.js';
import { h, mount } from '../common/dom.js';
import { startRouter } from '../common/router.js';

const page = (name) => () => import(`./pages/${name}.js`);

/** Every storefront page. */
export const ROUTES = [
  { path: '/', load: page('home') },
  { path: '/search', load: page('search') },
  { path: '/categories/:id', load: page('search') },
  { path: '/products/:id', load: page('product') },
  { path: '/cart', load: page('cart') },
  { path: '/checkout', load: page('checkout') },
  { path: '/login', load: page('login') },
  { path: '/register', load: page('register') },
  { path: '/forgot-password', load: page('forgot-password') },
  { path: '/reset-password', load: page('reset-password') },
  { path: '/verify-email', load: page('verify-email') },
  { path: '/orders', load: page('orders') },
  { path: '/orders/:id', load: page('order') },
  { path: '/notifications', load: page('notifications') },
  { path: '/account', load: page('account') },
];

const nav = document.getElementById('account-nav');
const main = document.getElementById('main');
let cartCount = null;

/** Re-reads the cart's item count for the header (after any cart change). */
export async function refreshCartCount() {
  if (!session.signedIn() && !cartId.get()) {
    cartCount = 0;
  } else {
    try {
      const cart = await api('GET', '/api/cart');
      cartCount = cart.items.reduce((n, item) => n + item.quantity, 0);
    } catch {
      cartCount = null;
    }
  }
  renderNav();
}

function renderNav() {
  const user = session.user();
  const cartLabel = cartCount ? `Cart (${cartCount})` : 'Cart';
  const links = user
    ? [
        h('a', { href: '/orders' }, 'Orders'),
        h('a', { href: '/notifications' }, 'Notifications'),
        h('a', { href: '/account' }, user.name || 'Account'),
        session.isAdmin() ? h('a', { href: '/manage' }, 'Manage shop') : null,
        h('button', { type: 'button', class: 'link', onclick: logout }, 'Sign out'),
      ]
    : [h('a', { href: '/login' }, 'Sign in'), h('a', { href: '/register' }, 'Register')];
  links.push(h('a', { href: '/cart', 'data-cart-link': true, 'aria-label': cartCount ? `Cart, ${cartCount} items` : 'Cart' }, cartLabel));
  mount(nav, h('ul', {}, links.filter(Boolean).map((l) => h('li', {}, l))));
}

async function logout() {
  await signOut();
  cartCount = 0;
  navigate('/');
}

function notFound(el) {
  document.title = 'Not found · jojomart';
  mount(el, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/' }, 'Back to the shop')));
}

session.onChange(() => refreshCartCount());
document.addEventListener('jojomart:cart-changed', () => refreshCartCount());
renderNav();
refreshCartCount();

const navigate = startRouter(main, ROUTES, {
  notFound,
  onRoute: (url) => {
    const q = document.getElementById('site-q');
    if (q && url.pathname === '/search') q.value = url.searchParams.get('q') || '';
  },
});

document.querySelector('form.search')?.addEventListener('submit', (e) => {
  e.preventDefault();
  const q = new FormData(e.target).get('q')?.toString().trim() ?? '';
  navigate(`/search${q ? `?q=${encodeURIComponent(q)}` : ''}`);
});

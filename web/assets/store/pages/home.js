// The shop's front page: its categories and a first shelf of products.

import { api } from '../../common/api.js';
import { h, mount, errorPage } from '../../common/dom.js';
import { productCard } from '../products.js';

/** Renders the front page. */
export default async function home(main, { isCurrent } = { isCurrent: () => true }) {
  document.title = 'jojomart';
  try {
    const [categories, products] = await Promise.all([
      api('GET', '/api/categories'),
      api('GET', '/api/products', { query: { limit: 12, sort: 'newest' } }),
    ]);
    if (!isCurrent()) return;
    mount(
      main,
      h('h1', {}, 'Welcome to jojomart'),
      h('section', { 'aria-labelledby': 'cat-h' },
        h('h2', { id: 'cat-h' }, 'Shop by category'),
        h('ul', { class: 'row', role: 'list' },
          categories.map((c) => h('li', {}, h('a', { class: 'button secondary', href: `/categories/${encodeURIComponent(c.id)}` }, `${c.name} (${c.productCount})`))))),
      h('section', { 'aria-labelledby': 'new-h' },
        h('h2', { id: 'new-h' }, 'New in'),
        h('ul', { class: 'grid', role: 'list' }, products.items.map((p) => h('li', {}, productCard(p)))),
        h('p', {}, h('a', { class: 'button secondary', href: '/search?sort=newest' }, 'See all products'))),
    );
  } catch (e) {
    errorPage(main, e, () => home(main, { isCurrent }));
  }
}

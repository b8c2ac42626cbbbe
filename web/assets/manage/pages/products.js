// The catalogue as a table: search, cursor paging, a link to edit each
// product, and "New product".

import { api } from '../../common/api.js';
import { h, mount, money, field } from '../../common/dom.js';
import { pageFailed, pager } from '../console.js';

const PAGE_SIZE = 25;

/** Renders the product list (`?q=` searches, `?cursor=` pages). */
export default async function products(main, { query, navigate }) {
  document.title = 'Products · Manage · jojomart';
  const q = query.get('q') || '';
  try {
    const page = await api('GET', '/api/products', {
      query: { q, sort: 'newest', limit: PAGE_SIZE, cursor: query.get('cursor') },
    });
    const search = h(
      'form',
      {
        role: 'search',
        class: 'row',
        onsubmit: (e) => {
          e.preventDefault();
          const text = new FormData(search).get('q').toString().trim();
          navigate(`/manage/products${text ? `?q=${encodeURIComponent(text)}` : ''}`);
        },
      },
      field('Search products', { name: 'q', type: 'search', value: q }),
      h('div', { class: 'field submit' }, h('button', { type: 'submit' }, 'Search')),
    );
    mount(
      main,
      h('div', { class: 'page-head' },
        h('h1', {}, 'Products'),
        h('a', { class: 'button', href: '/manage/products/new' }, 'New product')),
      search,
      page.items.length
        ? h('table', {},
            h('caption', { class: 'visually-hidden' }, q ? `Products matching “${q}”` : 'Products, newest first'),
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col' }, 'SKU'),
              h('th', { scope: 'col' }, 'Name'),
              h('th', { scope: 'col', class: 'num' }, 'Price'),
              h('th', { scope: 'col' }, 'In stock'))),
            h('tbody', {}, page.items.map((p) => h('tr', {},
              h('td', {}, h('code', {}, p.sku)),
              h('td', {}, h('a', { href: `/manage/products/${encodeURIComponent(p.id)}` }, p.name)),
              h('td', { class: 'num' }, money(p.unitPrice, p.currency)),
              h('td', {}, p.inStock ? h('span', { class: 'badge ok' }, 'In stock') : h('span', { class: 'badge danger' }, 'Sold out'))))))
        : h('p', { class: 'notice' }, q ? `No product matches “${q}”.` : 'There are no products yet.'),
      pager(query, page.nextCursor, 'Product pages'),
    );
  } catch (e) {
    pageFailed(main, e, () => products(main, { query, navigate }));
  }
}

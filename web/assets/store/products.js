// How a product shows in a list: picture, name, price, rating and stock.

import { h, money } from '../common/dom.js';

/** The product's list picture: the smallest variant, lazy-loaded. */
export function thumbnail(product, alt = '') {
  const url = product.images?.[0];
  if (!url) return h('div', { class: 'placeholder', role: 'img', 'aria-label': alt || 'No picture' });
  return h('img', { src: url, alt, loading: 'lazy', decoding: 'async', width: 320, height: 320 });
}

/** A card linking to the product page. */
export function productCard(p) {
  return h('article', { class: 'card' },
    thumbnail(p),
    h('h3', {}, h('a', { href: `/products/${encodeURIComponent(p.id)}` }, p.name)),
    h('p', { class: 'price' }, money(p.unitPrice, p.currency)),
    p.rating?.count ? h('p', { class: 'muted' }, `${p.rating.average.toFixed(1)} of 5 (${p.rating.count} reviews)`) : null,
    h('p', {}, p.inStock ? h('span', { class: 'badge ok' }, 'In stock') : h('span', { class: 'badge danger' }, 'Out of stock')),
  );
}

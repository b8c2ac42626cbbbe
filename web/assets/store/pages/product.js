// A product page: pictures (responsive, from the image variants), price,
// stock, add to cart, the rating summary and the reviews, and a form to
// write one when signed in.

import { api, session, ApiError } from '../../common/api.js';
import { h, mount, money, when, errorPage, field, showErrors, clearErrors, announce, busy } from '../../common/dom.js';

const REVIEWS_PAGE = 5;
/** At or below this many units, the page says how few are left. */
const FEW_LEFT = 5;

/** Renders `/products/:id`. */
export default async function product(main, { params, isCurrent }) {
  let p;
  let reviews;
  try {
    [p, reviews] = await Promise.all([
      api('GET', `/api/products/${encodeURIComponent(params.id)}`),
      api('GET', `/api/products/${encodeURIComponent(params.id)}/reviews`, { query: { limit: REVIEWS_PAGE } }),
    ]);
  } catch (e) {
    errorPage(main, e, () => product(main, { params, isCurrent }));
    return;
  }
  if (!isCurrent()) return;
  document.title = `${p.name} · jojomart`;

  const summary = h('p', { class: 'rating-summary', id: 'rating-summary' });
  const renderSummary = (rating) =>
    mount(summary, rating.count
      ? `Rated ${rating.average.toFixed(1)} out of 5 (${rating.count} ${rating.count === 1 ? 'review' : 'reviews'})`
      : 'No reviews yet');
  renderSummary(p.rating);

  const list = h('ol', { class: 'reviews', role: 'list' });
  const more = h('button', { type: 'button', class: 'secondary', onclick: loadMore }, 'Show more reviews');
  let next = null;
  const showPage = (pageOfReviews, replace) => {
    const items = pageOfReviews.items.map(reviewItem);
    if (replace) mount(list, items);
    else list.append(...items);
    if (!list.children.length) mount(list, h('li', { class: 'muted' }, 'Nobody has reviewed this product yet.'));
    next = pageOfReviews.nextCursor;
    more.hidden = !next;
  };
  async function loadMore() {
    try {
      const page = await api('GET', `/api/products/${encodeURIComponent(p.id)}/reviews`, { query: { limit: REVIEWS_PAGE, cursor: next } });
      const first = list.children.length;
      showPage(page, false);
      // keyboard users land on the first review just loaded
      list.children[first]?.querySelector('h3')?.focus();
    } catch (e) {
      announce(`Could not load more reviews: ${e.message}`, 'error');
    }
  }
  showPage(reviews, true);

  /** After a review is posted: the summary and the first page again. */
  async function reloadReviews() {
    const [fresh, page] = await Promise.all([
      api('GET', `/api/products/${encodeURIComponent(p.id)}`),
      api('GET', `/api/products/${encodeURIComponent(p.id)}/reviews`, { query: { limit: REVIEWS_PAGE } }),
    ]);
    renderSummary(fresh.rating);
    showPage(page, true);
  }

  mount(
    main,
    h('div', { class: 'product layout-2' },
      gallery(p),
      h('div', { class: 'product-info' },
        h('h1', {}, p.name),
        h('p', { class: 'price product-price' }, money(p.unitPrice, p.currency)),
        summary,
        stock(p.available),
        addToCart(p),
        h('p', {}, p.description),
        h('p', { class: 'muted' }, 'Category: ', h('a', { href: `/categories/${encodeURIComponent(p.category)}` }, p.category), ` · SKU ${p.sku}`))),
    h('section', { 'aria-labelledby': 'reviews-h', class: 'reviews-section' },
      h('h2', { id: 'reviews-h' }, 'Reviews'),
      list,
      more,
      reviewForm(p, reloadReviews)),
  );
}

/** The pictures: uploaded images with their variants as a `srcset`, then any plain image URL. */
function gallery(p) {
  const pictures = p.imageSet.map((img) => ({
    src: img.variants.medium,
    srcset: srcset(img),
    width: img.width,
    height: img.height,
  }));
  const uploaded = new Set(p.imageSet.map((img) => img.url));
  for (const url of p.images) if (!uploaded.has(url)) pictures.push({ src: url });
  if (!pictures.length) {
    return h('div', { class: 'gallery' },
      h('div', { class: 'placeholder no-picture', role: 'img', 'aria-label': `No picture of ${p.name}` }, 'No picture yet'));
  }
  return h('div', { class: 'gallery' },
    pictures.map((pic, i) =>
      h('img', {
        src: pic.src,
        srcset: pic.srcset,
        // the main picture fills the left column (two thirds of a 72rem page), the others are thumbnails
        sizes: pic.srcset ? (i === 0 ? '(max-width: 48rem) 100vw, 44rem' : '8rem') : null,
        width: pic.width,
        height: pic.height,
        alt: pictures.length > 1 ? `${p.name}, picture ${i + 1} of ${pictures.length}` : p.name,
        loading: i === 0 ? 'eager' : 'lazy',
        decoding: 'async',
        class: i === 0 ? 'product-picture' : 'product-thumb',
      })));
}

/** The longest side of each variant (never upscaled from the original). */
const VARIANT_SIDES = { thumbnail: 160, medium: 640, large: 1280 };

/**
 * A `srcset` with each variant's real width: a variant is the original scaled
 * down to at most its longest side, so a small original gives variants of
 * equal width, and only the first of those is listed.
 */
function srcset(img) {
  const longest = Math.max(img.width, img.height);
  const seen = new Set();
  const candidates = [];
  for (const [name, side] of Object.entries(VARIANT_SIDES)) {
    const width = Math.round((img.width * Math.min(side, longest)) / longest);
    if (seen.has(width)) continue;
    seen.add(width);
    candidates.push(`${img.variants[name]} ${width}w`);
  }
  return candidates.join(', ');
}

/** In stock, only N left, or out of stock. */
function stock(available) {
  if (available <= 0) return h('p', { class: 'stock' }, h('span', { class: 'badge danger' }, 'Out of stock'));
  if (available <= FEW_LEFT) return h('p', { class: 'stock' }, h('span', { class: 'badge warn' }, `Only ${available} left`));
  return h('p', { class: 'stock' }, h('span', { class: 'badge ok' }, 'In stock'));
}

/** Quantity and Add to cart (disabled when nothing is available). */
function addToCart(p) {
  const out = p.available <= 0;
  const form = h('form', { class: 'add-to-cart', novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    h('div', { class: 'row' },
      field('Quantity', { name: 'quantity', type: 'number', min: 1, max: Math.max(p.available, 1), value: 1, required: true, disabled: out, inputmode: 'numeric' }),
      h('div', { class: 'field' }, h('button', { type: 'submit', disabled: out }, 'Add to cart'))),
    out ? h('p', { class: 'muted' }, 'This product is out of stock, so it cannot be added to the cart.') : null,
  );

  async function submit(e) {
    e.preventDefault();
    if (out) return;
    clearErrors(form);
    const quantity = Number(form.elements.quantity.value);
    if (!Number.isInteger(quantity) || quantity < 1) {
      showErrors(form, new ApiError(400, { errors: [{ field: 'quantity', message: 'Enter a whole number of at least 1.' }] }));
      return;
    }
    await busy(form, async () => {
      try {
        await api('POST', '/api/cart/items', { body: { productId: p.id, quantity } });
        document.dispatchEvent(new Event('jojomart:cart-changed'));
        announce(`Added ${quantity} × ${p.name} to your cart.`, 'ok');
        mount(form.querySelector('.form-message'),
          h('p', { class: 'notice ok' }, `Added to your cart. `, h('a', { href: '/cart' }, 'View your cart')));
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          showErrors(form, new ApiError(409, { detail: 'Not enough of this product is available for that quantity (your cart may already hold some).' }));
        } else {
          showErrors(form, err);
        }
      }
    });
  }
  return form;
}

/** One review. */
function reviewItem(r) {
  return h('li', { class: 'review card' },
    h('h3', { tabindex: '-1' }, r.title),
    h('p', { class: 'stars' }, h('span', { 'aria-hidden': 'true' }, '★'.repeat(r.rating) + '☆'.repeat(5 - r.rating)), h('span', { class: 'visually-hidden' }, `Rated ${r.rating} out of 5`)),
    r.body ? h('p', {}, r.body) : null,
    h('p', { class: 'muted' },
      `${r.userName || 'A shopper'} · `, h('time', { datetime: r.createdAt }, when(r.createdAt)),
      r.verifiedPurchase ? [' ', h('span', { class: 'badge ok' }, 'Verified purchase')] : null),
  );
}

/** The "Write a review" form, or a sign-in link for a visitor. */
function reviewForm(p, reload) {
  const here = `/products/${encodeURIComponent(p.id)}`;
  const signInLink = () => h('a', { href: `/login?next=${encodeURIComponent(here)}` }, 'Sign in to write a review');
  if (!session.signedIn()) {
    return h('div', { class: 'write-review' }, h('h2', {}, 'Write a review'), h('p', {}, signInLink(), '.'));
  }
  const stars = [1, 2, 3, 4, 5].map((n) =>
    h('label', { class: 'star-choice' },
      h('input', { type: 'radio', name: 'rating', value: n, required: true, id: n === 1 ? 'f-rating' : `f-rating-${n}` }),
      ` ${n} ${n === 1 ? 'star' : 'stars'}`));
  const form = h('form', { class: 'write-review', novalidate: true, 'aria-labelledby': 'write-h', onsubmit: submit },
    h('h2', { id: 'write-h' }, 'Write a review'),
    h('div', { class: 'form-message', role: 'alert' }),
    h('fieldset', { class: 'field' },
      h('legend', {}, 'Rating'),
      h('div', { class: 'row stars-row' }, stars),
      // showErrors finds this slot by the first radio's id
      h('p', { class: 'field-error', id: 'f-rating-error', hidden: true })),
    field('Title', { name: 'title', required: true, maxlength: 120 }),
    field('Your review', { name: 'body', type: 'textarea', maxlength: 5000 }),
    h('button', { type: 'submit' }, 'Post review'),
  );

  async function submit(e) {
    e.preventDefault();
    clearErrors(form);
    const data = new FormData(form);
    const body = { rating: Number(data.get('rating') || 0), title: String(data.get('title') || '').trim(), body: String(data.get('body') || '').trim() };
    await busy(form, async () => {
      try {
        await api('POST', `/api/products/${encodeURIComponent(p.id)}/reviews`, { body });
        form.reset();
        await reload();
        mount(form.querySelector('.form-message'), h('p', { class: 'notice ok' }, 'Thank you: your review is posted.'));
        announce('Your review is posted.', 'ok');
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          showErrors(form, new ApiError(409, { detail: 'You have already reviewed this product.' }));
        } else if (err instanceof ApiError && err.status === 401) {
          showErrors(form, new ApiError(401, { detail: 'Your session has ended.' }));
          form.querySelector('.form-message').append(h('p', {}, signInLink()));
        } else {
          showErrors(form, err);
        }
      }
    });
  }
  return form;
}

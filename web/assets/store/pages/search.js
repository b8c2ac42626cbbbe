// Search and category pages (`/search`, `/categories/:id`): a filter form
// whose state lives in the URL query (so the back button and shared links
// work), a results grid and cursor paging.
//
// The API only gives a `nextCursor`, so "Previous page" needs the cursors
// of the pages before: the URL keeps the current page's `cursor` and, in
// `prev`, the cursors of the earlier pages (comma-separated; the first page
// has none). Cursors are base64url with dots, never commas.

import { api, ApiError } from '../../common/api.js';
import { h, mount, errorPage, field, showErrors, clearErrors, toMinor, values } from '../../common/dom.js';
import { productCard } from '../products.js';

/** The currency prices are typed in (the demo shop sells in one currency). */
const CURRENCY = 'USD';
const PAGE_SIZE = 12;

const SORTS = [
  ['relevance', 'Relevance'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
  ['rating', 'Rating'],
  ['newest', 'Newest'],
];

/** The filter fields the URL query carries. */
const FILTERS = ['q', 'category', 'minPrice', 'maxPrice', 'sort'];

/** Renders search results for the URL's query (or the category in the path). */
export default async function search(main, { params, query, navigate, isCurrent }) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  if (params.id) state.category = params.id;
  const cursor = query.get('cursor') || '';
  const prev = (query.get('prev') || '').split(',').filter(Boolean);

  // a price the user typed that is not a number is said next to its field
  const priceErrors = [];
  const minor = {};
  for (const k of ['minPrice', 'maxPrice']) {
    if (!state[k]) continue;
    const value = toMinor(state[k], CURRENCY);
    if (Number.isNaN(value) || value < 0) priceErrors.push({ field: k, message: 'Enter an amount such as 10 or 24.99.' });
    else minor[k] = value;
  }

  let categories;
  let page;
  let failure = null;
  try {
    categories = await api('GET', '/api/categories');
    if (priceErrors.length) {
      page = { items: [], nextCursor: null };
    } else {
      page = await api('GET', '/api/products', {
        query: {
          q: state.q,
          category: state.category,
          minPrice: minor.minPrice,
          maxPrice: minor.maxPrice,
          sort: state.sort,
          limit: PAGE_SIZE,
          cursor,
        },
      });
    }
  } catch (e) {
    // a filter the API refuses (400 with field errors) is shown on the form;
    // anything else (API down, unknown category list) is a page error
    if (e instanceof ApiError && e.status === 400 && categories) {
      failure = e;
      page = { items: [], nextCursor: null };
    } else {
      errorPage(main, e, () => search(main, { params, query, navigate, isCurrent }));
      return;
    }
  }
  if (!isCurrent()) return;

  const category = categories.find((c) => c.id === state.category);
  const title = state.q
    ? `Results for “${state.q}”${category ? ` in ${category.name}` : ''}`
    : category
      ? category.name
      : state.category
        ? 'No such category'
        : 'All products';
  const pageNumber = cursor ? prev.length + 2 : 1;
  document.title = `${title}${pageNumber > 1 ? ` (page ${pageNumber})` : ''} · jojomart`;

  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter products', novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    h('div', { class: 'row' },
      field('Keywords', { name: 'q', type: 'search', value: state.q }),
      field('Category', {
        name: 'category',
        type: 'select',
        options: [
          h('option', { value: '' }, 'All categories'),
          categories.map((c) => h('option', { value: c.id, selected: c.id === state.category }, c.name)),
        ],
      }),
      field(`Min price (${CURRENCY})`, { name: 'minPrice', inputmode: 'decimal', value: state.minPrice, size: 8 }),
      field(`Max price (${CURRENCY})`, { name: 'maxPrice', inputmode: 'decimal', value: state.maxPrice, size: 8 }),
      field('Sort by', {
        name: 'sort',
        type: 'select',
        options: SORTS.map(([v, label]) => h('option', { value: v, selected: v === (state.sort || 'relevance') }, label)),
      }),
    ),
    h('p', {}, h('button', { type: 'submit' }, 'Apply filters')),
  );

  /** Puts the filters into the URL (a new history entry) and starts at page 1. */
  function submit(e) {
    e.preventDefault();
    clearErrors(form);
    const v = values(form);
    if (v.sort === 'relevance') delete v.sort;
    const qs = new URLSearchParams(v).toString();
    navigate(`/search${qs ? `?${qs}` : ''}`);
  }

  /** The URL of this search at another cursor (empty: the first page). */
  function at(nextCursor, nextPrev) {
    const u = new URLSearchParams();
    for (const k of FILTERS) if (state[k] && !(k === 'category' && params.id)) u.set(k, state[k]);
    if (nextCursor) u.set('cursor', nextCursor);
    if (nextPrev.length) u.set('prev', nextPrev.join(','));
    const path = params.id ? `/categories/${encodeURIComponent(params.id)}` : '/search';
    const qs = u.toString();
    return `${path}${qs ? `?${qs}` : ''}`;
  }

  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' },
    cursor ? h('a', { class: 'button secondary', href: at(prev.at(-1) || '', prev.slice(0, -1)), rel: 'prev' }, 'Previous page') : null,
    pageNumber > 1 || page.nextCursor ? h('span', { class: 'muted' }, `Page ${pageNumber}`) : null,
    page.nextCursor ? h('a', { class: 'button secondary', href: at(page.nextCursor, cursor ? [...prev, cursor] : []), rel: 'next' }, 'Next page') : null,
  );

  const refused = priceErrors.length > 0 || failure !== null;
  const results = refused
    ? null
    : page.items.length
    ? h('ul', { class: 'grid', role: 'list' }, page.items.map((p) => h('li', {}, productCard(p))))
    : h('div', { class: 'notice empty' },
        h('p', {}, pageNumber > 1 ? 'There are no more products on this page.' : 'No products match your search.'),
        h('p', {}, 'Try other keywords, a wider price range, or ', h('a', { href: '/search' }, 'see all products'), '.'));

  mount(
    main,
    h('h1', {}, title),
    form,
    h('section', { 'aria-labelledby': 'results-h' },
      h('h2', { id: 'results-h', class: 'visually-hidden' }, 'Results'),
      results,
      !refused && pager.children.length ? pager : null),
  );
  if (failure?.errors.some((x) => x.field === 'cursor')) {
    // a paging link from before the catalog changed (or edited by hand)
    failure = new ApiError(400, { detail: 'This results page is out of date.' });
    showErrors(form, failure);
    form.querySelector('.form-message').append(h('p', {}, h('a', { href: at('', []) }, 'Start from the first page')));
  } else if (priceErrors.length || failure) {
    showErrors(form, failure || new ApiError(400, { detail: 'Check the price range.', errors: priceErrors }));
  }
}

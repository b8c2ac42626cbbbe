// One product: the create form (`/manage/products/new`), or the edit page
// (`/manage/products/:id`) with its details form, images (upload, delete),
// stock, and deletion.

import { api, ApiError } from '../../common/api.js';
import { h, mount, field, showErrors, clearErrors, busy, announce, toMinor, toMajor } from '../../common/dom.js';
import { pageFailed, formFailed, onField, stats, confirmButton } from '../console.js';

const IMAGE_TYPES = 'image/jpeg,image/png,image/webp';

/** Renders the create form or the edit page. */
export default async function product(main, context) {
  const { params } = context;
  try {
    const categories = api('GET', '/api/categories').catch(() => []);
    if (!params.id) {
      createPage(main, context, await categories);
      return;
    }
    const path = `/api/products/${encodeURIComponent(params.id)}`;
    const [item, level, cats] = await Promise.all([api('GET', path), api('GET', `${path}/inventory`), categories]);
    editPage(main, context, item, level, cats);
  } catch (e) {
    pageFailed(main, e, () => product(main, context));
  }
}

/** The detail fields both forms share; `item` fills them when editing. */
function detailFields(item, categories) {
  const currency = item?.currency ?? 'USD';
  return [
    field('SKU', { name: 'sku', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false', value: item?.sku,
      'aria-describedby': 'f-sku-hint' }, 'Unique: letters, digits and - _ . / (up to 64).'),
    field('Name', { name: 'name', required: true, maxlength: 200, value: item?.name }),
    field('Description', { name: 'description', type: 'textarea', maxlength: 10000 }),
    field('Category', { name: 'category', required: true, list: 'category-list', autocomplete: 'off', value: item?.category,
      'aria-describedby': 'f-category-hint' }, 'A slug such as home-garden; a new one is created on first use.'),
    h('datalist', { id: 'category-list' }, categories.map((c) => h('option', { value: c.id }, c.name))),
    h('div', { class: 'row' },
      field('Price', { name: 'unitPrice', required: true, inputmode: 'decimal', autocomplete: 'off',
        value: item ? toMajor(item.unitPrice, currency) : null, 'aria-describedby': 'f-unitPrice-hint' }, 'In major units, e.g. 19.99.'),
      field('Currency', { name: 'currency', required: true, maxlength: 3, value: currency, autocomplete: 'off',
        'aria-describedby': 'f-currency-hint' }, 'ISO 4217 code, e.g. USD.')),
  ];
}

/**
 * The request body from the form, or an ApiError naming the fields that
 * cannot be sent as typed (a price that is not a number, a currency that
 * cannot be one, stock that is not a whole number).
 */
function bodyOf(form, withStock) {
  const data = new FormData(form);
  const text = (k) => (data.get(k) ?? '').toString().trim();
  const errors = [];
  const currency = text('currency').toUpperCase();
  const body = {
    sku: text('sku'),
    name: text('name'),
    description: text('description'),
    category: text('category'),
    currency,
  };
  if (!/^[A-Z]{3}$/.test(currency)) errors.push({ field: 'currency', message: 'must be a three-letter ISO 4217 code, like USD' });
  const price = text('unitPrice');
  const minor = price === '' || errors.length ? NaN : toMinor(price, currency);
  if (price === '') errors.push({ field: 'unitPrice', message: 'enter a price, like 19.99' });
  else if (!Number.isFinite(minor)) {
    if (!errors.length) errors.push({ field: 'unitPrice', message: 'must be a number, like 19.99' });
  } else body.unitPrice = minor;
  if (withStock) {
    const stock = text('stock');
    if (!/^\d+$/.test(stock)) errors.push({ field: 'stock', message: 'must be a whole number of units, 0 or more' });
    else body.stock = Number(stock);
  }
  if (errors.length) throw new ApiError(400, { title: 'Check the highlighted fields.', status: 400, errors });
  return body;
}

/** A duplicate SKU (409) belongs next to the SKU. */
function placeConflict(error) {
  return error instanceof ApiError && error.status === 409 ? onField(error, 'sku') : error;
}

function createPage(main, { navigate }, categories) {
  document.title = 'New product · Manage · jojomart';
  const form = h(
    'form',
    { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    detailFields(null, categories),
    field('Stock', { name: 'stock', type: 'number', min: 0, step: 1, required: true, value: '0', inputmode: 'numeric',
      'aria-describedby': 'f-stock-hint' }, 'Units on hand.'),
    h('button', { type: 'submit' }, 'Create product'),
  );
  mount(main, h('h1', {}, 'New product'), h('p', {}, h('a', { href: '/manage/products' }, 'Back to the products')), form);

  async function submit(e) {
    e.preventDefault();
    await busy(form, async () => {
      try {
        const created = await api('POST', '/api/products', { body: bodyOf(form, true) });
        navigate(`/manage/products/${encodeURIComponent(created.id)}`);
        announce(`Created “${created.name}”. Add images and check its stock below.`, 'ok');
      } catch (error) {
        formFailed(form, placeConflict(error), showErrors);
      }
    });
  }
}

function editPage(main, { navigate }, item, level, categories) {
  document.title = `${item.name} · Products · Manage · jojomart`;
  const heading = h('h1', {}, item.name);
  const details = h(
    'form',
    { novalidate: true, onsubmit: save, 'aria-labelledby': 'details-h' },
    h('div', { class: 'form-message', role: 'alert' }),
    detailFields(item, categories),
    h('button', { type: 'submit' }, 'Save changes'),
  );
  details.querySelector('[name="description"]').value = item.description;
  const shopLink = h('a', { href: `/products/${encodeURIComponent(item.id)}` }, 'See it in the shop');

  mount(
    main,
    heading,
    h('p', { class: 'row' }, h('a', { href: '/manage/products' }, 'Back to the products'), shopLink),
    h('div', { class: 'layout-2' },
      h('section', { 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h' }, 'Details'), details),
      h('div', {},
        stockSection(item, level),
        h('section', { 'aria-labelledby': 'delete-h', class: 'danger-zone' },
          h('h2', { id: 'delete-h' }, 'Delete'),
          h('p', {}, 'A deleted product leaves the shop at once; past orders keep their lines.'),
          confirmButton('Delete product', `Delete “${item.name}” for good?`, 'Yes, delete it', remove)))),
    imagesSection(item),
  );

  async function save(e) {
    e.preventDefault();
    await busy(details, async () => {
      try {
        const saved = await api('PATCH', `/api/products/${encodeURIComponent(item.id)}`, { body: bodyOf(details, false) });
        Object.assign(item, saved);
        clearErrors(details);
        heading.textContent = saved.name;
        document.title = `${saved.name} · Products · Manage · jojomart`;
        announce(`Saved “${saved.name}”.`, 'ok');
      } catch (error) {
        formFailed(details, placeConflict(error), showErrors);
      }
    });
  }

  async function remove(box) {
    try {
      await api('DELETE', `/api/products/${encodeURIComponent(item.id)}`);
      navigate('/manage/products');
      announce(`Deleted “${item.name}”.`, 'ok');
    } catch (error) {
      formFailed(box, error, showErrors);
    }
  }
}

/** Stock, reserved and available units, and a form that sets the stock. */
function stockSection(item, current) {
  const levels = h('div', {});
  const show = (level) =>
    mount(levels, stats([['Stock', String(level.stock)], ['Reserved', String(level.reserved)], ['Available', String(level.available)]], 'Stock levels'));
  show(current);
  const form = h(
    'form',
    { novalidate: true, onsubmit: submit, 'aria-labelledby': 'stock-h' },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Units on hand', { name: 'stock', id: 'f-stock-level', type: 'number', min: 0, step: 1, required: true, inputmode: 'numeric',
      value: String(current.stock), 'aria-describedby': 'f-stock-level-hint' }, 'Not less than the units reserved for unpaid orders.'),
    h('button', { type: 'submit' }, 'Set stock'),
  );
  return h('section', { 'aria-labelledby': 'stock-h' }, h('h2', { id: 'stock-h' }, 'Stock'), levels, form);

  async function submit(e) {
    e.preventDefault();
    const raw = new FormData(form).get('stock').toString().trim();
    await busy(form, async () => {
      try {
        if (!/^\d+$/.test(raw)) {
          throw new ApiError(400, { title: 'Check the highlighted fields.', errors: [{ field: 'stock', message: 'must be a whole number of units, 0 or more' }] });
        }
        const level = await api('PUT', `/api/products/${encodeURIComponent(item.id)}/inventory`, { body: { stock: Number(raw) } });
        clearErrors(form);
        show(level);
        announce(`Stock set to ${level.stock}; ${level.available} available.`, 'ok');
      } catch (error) {
        formFailed(form, onField(error, 'stock'), showErrors);
      }
    });
  }
}

/** Uploaded images (thumbnails, each with Delete), image URLs, and the upload form. */
function imagesSection(item) {
  const uploaded = [...item.imageSet];
  const uploadedUrls = () => new Set(uploaded.map((i) => i.url));
  let linked = item.images.filter((url) => !uploadedUrls().has(url));
  const list = h('ul', { class: 'thumbs', role: 'list' });

  function render() {
    const cards = [
      ...uploaded.map((image, i) => h('li', { class: 'thumb' },
        h('img', { src: image.variants.thumbnail, alt: `${item.name}, image ${i + 1}`, width: 160, height: 160 }),
        h('span', { class: 'muted' }, `${image.width} × ${image.height}`),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete image ${i + 1}`, onclick: () => removeUploaded(image) }, 'Delete'))),
      ...linked.map((url, i) => h('li', { class: 'thumb' },
        h('img', { src: url, alt: `${item.name}, linked image ${i + 1}`, width: 160, height: 160 }),
        h('span', { class: 'muted' }, 'Linked by URL'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Remove linked image ${i + 1}`, onclick: () => removeLinked(url) }, 'Remove'))),
    ];
    mount(list, cards.length ? cards : h('li', { class: 'muted' }, 'No images yet.'));
  }

  const message = h('div', { class: 'form-message', role: 'alert' });
  const form = h(
    'form',
    { novalidate: true, onsubmit: upload, 'aria-labelledby': 'images-h' },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Add an image', { name: 'image', type: 'file', accept: IMAGE_TYPES, 'aria-describedby': 'f-image-hint' },
      'JPEG, PNG or WebP, up to 5 MiB and 40 megapixels.'),
    h('button', { type: 'submit' }, 'Upload image'),
  );
  render();
  return h('section', { 'aria-labelledby': 'images-h' }, h('h2', { id: 'images-h' }, 'Images'), message, list, form);

  async function upload(e) {
    e.preventDefault();
    const file = form.querySelector('[name="image"]').files[0];
    await busy(form, async () => {
      try {
        if (!file) throw new ApiError(400, { title: 'Choose an image.', errors: [{ field: 'image', message: 'choose a JPEG, PNG or WebP file first' }] });
        const image = await api('POST', `/api/products/${encodeURIComponent(item.id)}/images`, {
          body: file,
          contentType: file.type || 'application/octet-stream',
        });
        // the same picture again answers the image it already has
        if (!uploaded.some((i) => i.id === image.id)) uploaded.push(image);
        form.reset();
        clearErrors(form);
        render();
        announce('Image uploaded.', 'ok');
      } catch (error) {
        formFailed(form, onField(error, 'image'), showErrors);
      }
    });
  }

  async function removeUploaded(image) {
    try {
      await api('DELETE', `/api/products/${encodeURIComponent(item.id)}/images/${encodeURIComponent(image.id)}`);
      uploaded.splice(uploaded.indexOf(image), 1);
      clearErrors(message.parentElement);
      render();
      announce('Image deleted.', 'ok');
    } catch (error) {
      imageFailed(error);
    }
  }

  async function removeLinked(url) {
    try {
      const keep = linked.filter((u) => u !== url);
      await api('PATCH', `/api/products/${encodeURIComponent(item.id)}`, { body: { images: keep } });
      linked = keep;
      render();
      announce('Image removed.', 'ok');
    } catch (error) {
      imageFailed(error);
    }
  }

  function imageFailed(error) {
    formFailed(message.parentElement, error, showErrors);
  }
}

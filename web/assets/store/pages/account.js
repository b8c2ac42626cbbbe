// The shopper's account: name, mail preferences, address book, a download
// of everything the shop holds about them, and deleting the account (after
// typing DELETE).

import { api, session, cartId } from '../../common/api.js';
import { h, mount, field, errorPage, showErrors, clearErrors, busy, announce, describe } from '../../common/dom.js';
import { signInPrompt, addressFields, addressValues, addressBlock, addressOneLine } from '../shopper.js';

/** Renders the account page. */
export default async function account(main, ctx) {
  document.title = 'Your account · jojomart';
  if (!session.signedIn()) {
    signInPrompt(main, 'Your account', 'Sign in to manage your account.');
    return;
  }
  let me;
  try {
    me = await api('GET', '/api/users/me');
  } catch (e) {
    errorPage(main, e, () => account(main, ctx));
    return;
  }

  // A form that sends its work, shows the API's errors next to its fields,
  // and says "saved" in the live region.
  function form(attrs, children, work) {
    const el = h('form', { novalidate: true, ...attrs }, h('div', { class: 'form-message', role: 'alert' }), children);
    el.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(el, async () => {
        clearErrors(el);
        try {
          await work(el);
        } catch (error) {
          showErrors(el, error);
        }
      });
    });
    return el;
  }

  const profile = form({ 'aria-labelledby': 'profile-h' }, [
    h('p', {}, 'Email: ', h('strong', {}, me.email)),
    field('Name', { name: 'name', id: 'profile-name', required: true, autocomplete: 'name', value: me.name }),
    h('button', { type: 'submit' }, 'Save name'),
  ], async (el) => {
    me = await api('PATCH', '/api/users/me', { body: { name: new FormData(el).get('name').toString().trim() } });
    session.setUser({ name: me.name });
    announce('Your name is saved.', 'ok');
  });

  const checkbox = (name, label, hint) => h('div', { class: 'checkbox' },
    h('input', { type: 'checkbox', name, id: `pref-${name}`, checked: !!me.preferences[name], 'aria-describedby': `pref-${name}-hint` }),
    h('label', { for: `pref-${name}` }, label),
    h('p', { class: 'hint', id: `pref-${name}-hint` }, hint));
  const preferences = form({ 'aria-labelledby': 'prefs-h' }, [
    h('fieldset', { class: 'group' }, h('legend', {}, 'Send me'),
      checkbox('orderUpdates', 'Order updates', 'Mail when an order is placed, paid, shipped, delivered, cancelled or refunded.'),
      checkbox('marketingEmails', 'News and offers', 'Mail about new products and offers.')),
    h('button', { type: 'submit' }, 'Save preferences'),
  ], async (el) => {
    const data = new FormData(el);
    me = await api('PATCH', '/api/users/me', {
      body: { preferences: { orderUpdates: data.has('orderUpdates'), marketingEmails: data.has('marketingEmails') } },
    });
    announce('Your preferences are saved.', 'ok');
  });

  const book = h('div', {});
  function renderBook() {
    mount(book, me.addresses.length
      ? h('ul', { class: 'addresses', role: 'list' }, me.addresses.map((a) => h('li', { class: 'card' },
        addressBlock(a),
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Delete address: ${addressOneLine(a)}`, onclick: (e) => remove(a, e.target) }, 'Delete'))))
      : h('p', { class: 'muted' }, 'No saved addresses yet.'));
  }
  async function remove(address, button) {
    button.disabled = true;
    try {
      await api('DELETE', `/api/users/me/addresses/${encodeURIComponent(address.id)}`);
      me.addresses = me.addresses.filter((a) => a.id !== address.id);
      renderBook();
      announce('The address is deleted.', 'ok');
      document.getElementById('book-h')?.focus();
    } catch (error) {
      button.disabled = false;
      announce(describe(error), 'error');
    }
  }
  renderBook();
  const addAddress = form({ 'aria-labelledby': 'add-h' }, [
    h('h3', { id: 'add-h' }, 'Add an address'),
    addressFields('', 'book'),
    h('button', { type: 'submit' }, 'Add address'),
  ], async (el) => {
    const saved = await api('POST', '/api/users/me/addresses', { body: addressValues(el) });
    me.addresses.push(saved);
    renderBook();
    el.reset();
    announce('The address is saved.', 'ok');
  });

  const exportBox = h('div', {},
    h('p', {}, 'One JSON file with your profile, addresses, orders, reviews and notifications.'),
    h('button', { type: 'button', class: 'secondary', onclick: download }, 'Download my data'));
  async function download(e) {
    const button = e.target;
    button.disabled = true;
    try {
      // fetched with the session's token, then handed to the browser as a file
      const response = await api('GET', '/api/users/me/export', { raw: true });
      const url = URL.createObjectURL(await response.blob());
      const a = h('a', { href: url, download: 'jojomart-export.json', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      announce('Your data is downloaded as jojomart-export.json.', 'ok');
    } catch (error) {
      announce(describe(error), 'error');
    } finally {
      button.disabled = false;
    }
  }

  // Deleting: a first button opens the confirmation, which wants DELETE typed.
  const danger = h('div', {});
  function closed() {
    mount(danger,
      h('p', {}, 'Your profile, addresses and reviews are erased and you cannot sign in again. Orders stay, without your name.'),
      h('button', { type: 'button', class: 'danger', onclick: opened }, 'Delete my account…'));
  }
  function opened() {
    const confirmForm = form({ 'aria-labelledby': 'delete-h' }, [
      field('Type DELETE to confirm', { name: 'confirm', id: 'delete-confirm', required: true, autocomplete: 'off' }),
      h('div', { class: 'row' },
        h('button', { type: 'submit', class: 'danger' }, 'Delete my account for good'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { closed(); danger.querySelector('button').focus(); } }, 'Keep my account')),
    ], async (el) => {
      if (new FormData(el).get('confirm') !== 'DELETE') {
        const slot = el.querySelector('#delete-confirm-error');
        slot.textContent = 'Type DELETE in capitals to delete your account.';
        slot.hidden = false;
        const input = el.querySelector('#delete-confirm');
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', slot.id);
        input.focus();
        return;
      }
      await api('DELETE', '/api/users/me');
      // the account's sessions are revoked: forgetting them here is all that is left
      session.clear();
      cartId.clear();
      ctx.navigate('/', { replace: true });
      announce('Your account is deleted. Goodbye!', 'ok');
    });
    mount(danger, confirmForm);
    confirmForm.querySelector('input').focus();
  }
  closed();

  mount(main,
    h('h1', {}, 'Your account'),
    h('section', { class: 'block', 'aria-labelledby': 'profile-h' }, h('h2', { id: 'profile-h' }, 'Profile'), profile),
    h('section', { class: 'block', 'aria-labelledby': 'prefs-h' }, h('h2', { id: 'prefs-h' }, 'Email preferences'), preferences),
    h('section', { class: 'block', 'aria-labelledby': 'book-h' }, h('h2', { id: 'book-h', tabindex: '-1' }, 'Address book'), book, addAddress),
    h('section', { class: 'block', 'aria-labelledby': 'data-h' }, h('h2', { id: 'data-h' }, 'Your data'), exportBox),
    h('section', { class: 'block danger-zone', 'aria-labelledby': 'delete-h' }, h('h2', { id: 'delete-h' }, 'Delete your account'), danger));
}

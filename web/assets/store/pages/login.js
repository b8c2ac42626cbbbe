// Sign in. The anonymous cart (X-Cart-Id) is merged into the account's cart
// by the server; afterwards the shopper goes to `?next=` or the front page.

import { signIn } from '../../common/api.js';
import { h, mount, field, showErrors, busy, values } from '../../common/dom.js';
import { nextPath } from '../next.js';

/** Renders `/login`. */
export default async function login(main, { query, navigate }) {
  document.title = 'Sign in · jojomart';
  const next = nextPath(query);
  const form = h('form', { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Sign in'),
  );

  async function submit(e) {
    e.preventDefault();
    const v = values(form);
    await busy(form, async () => {
      try {
        await signIn('/api/auth/login', { email: v.email || '', password: form.elements.password.value });
        navigate(next, { replace: true });
      } catch (err) {
        showErrors(form, err);
      }
    });
  }

  mount(main,
    h('h1', {}, 'Sign in'),
    form,
    h('p', {}, h('a', { href: '/forgot-password' }, 'Forgot your password?')),
    h('p', {}, 'New here? ', h('a', { href: `/register${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Create an account')),
  );
}

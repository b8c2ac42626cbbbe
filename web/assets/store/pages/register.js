// Create an account. As with sign-in, the server merges the anonymous cart;
// afterwards the shopper goes to `?next=` or the front page. A verification
// link is mailed (see verify-email.js).

import { signIn } from '../../common/api.js';
import { h, mount, field, showErrors, busy, announce } from '../../common/dom.js';
import { nextPath } from '../next.js';

/** Renders `/register`. */
export default async function register(main, { query, navigate }) {
  document.title = 'Create an account · jojomart';
  const next = nextPath(query);
  const form = h('form', { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Name', { name: 'name', autocomplete: 'name', required: true }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'f-password-hint' }, 'At least 8 characters.'),
    h('button', { type: 'submit' }, 'Create account'),
  );

  async function submit(e) {
    e.preventDefault();
    const el = form.elements;
    await busy(form, async () => {
      try {
        const auth = await signIn('/api/auth/register', { name: el.name.value.trim(), email: el.email.value.trim(), password: el.password.value });
        navigate(next, { replace: true });
        announce(`Welcome, ${auth.user.name}. We sent a link to ${auth.user.email} to verify your email address.`, 'ok');
      } catch (err) {
        showErrors(form, err);
      }
    });
  }

  mount(main,
    h('h1', {}, 'Create an account'),
    form,
    h('p', {}, 'Already have an account? ', h('a', { href: `/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}` }, 'Sign in')),
  );
}

// Ask for a password-reset link. The API answers 202 whether or not the
// account exists, and so does this page.

import { api } from '../../common/api.js';
import { h, mount, field, showErrors, busy } from '../../common/dom.js';

/** Renders `/forgot-password`. */
export default async function forgotPassword(main) {
  document.title = 'Reset your password · jojomart';
  const form = h('form', { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true }),
    h('button', { type: 'submit' }, 'Send reset link'),
  );

  async function submit(e) {
    e.preventDefault();
    const email = form.elements.email.value.trim();
    await busy(form, async () => {
      try {
        await api('POST', '/api/auth/password-reset', { body: { email } });
        mount(main,
          h('h1', { tabindex: '-1' }, 'Check your mail'),
          h('p', { class: 'notice ok', role: 'status' }, `If an account exists for ${email}, we sent it a link to reset the password. The link works once, for one hour.`),
          h('p', {}, h('a', { href: '/login' }, 'Back to sign in')));
        main.querySelector('h1').focus();
      } catch (err) {
        showErrors(form, err);
      }
    });
  }

  mount(main,
    h('h1', {}, 'Reset your password'),
    h('p', {}, 'Enter the email you signed up with and we will mail you a link to choose a new password.'),
    form,
    h('p', {}, h('a', { href: '/login' }, 'Back to sign in')),
  );
}

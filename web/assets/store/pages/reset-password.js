// Choose a new password with the token from the reset mail (`?token=`).
// A bad, used or expired token gets a link to ask for a new one.

import { api, ApiError } from '../../common/api.js';
import { h, mount, field, showErrors, busy } from '../../common/dom.js';

const requestAgain = () => h('a', { href: '/forgot-password' }, 'Ask for a new reset link');

/** Renders `/reset-password`. */
export default async function resetPassword(main, { query }) {
  document.title = 'Choose a new password · jojomart';
  const token = query.get('token') || '';
  if (!token) {
    mount(main,
      h('h1', {}, 'Choose a new password'),
      h('p', { class: 'notice error' }, 'This page needs the link from your password-reset mail.'),
      h('p', {}, requestAgain()));
    return;
  }
  const form = h('form', { novalidate: true, onsubmit: submit },
    h('div', { class: 'form-message', role: 'alert' }),
    field('New password', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'f-newPassword-hint' }, 'At least 8 characters.'),
    h('button', { type: 'submit' }, 'Set new password'),
  );

  async function submit(e) {
    e.preventDefault();
    await busy(form, async () => {
      try {
        await api('POST', '/api/auth/password-reset/confirm', { body: { token, newPassword: form.elements.newPassword.value } });
        mount(main,
          h('h1', { tabindex: '-1' }, 'Your password is changed'),
          h('p', { class: 'notice ok', role: 'status' }, 'Every session of your account was signed out.'),
          h('p', {}, h('a', { class: 'button', href: '/login' }, 'Sign in with your new password')));
        main.querySelector('h1').focus();
      } catch (err) {
        const fieldErrors = err instanceof ApiError ? err.errors.filter((x) => x.field === 'newPassword') : [];
        if (err instanceof ApiError && err.status === 400 && !fieldErrors.length) {
          // the token itself was refused
          showErrors(form, new ApiError(400, { detail: 'This reset link is invalid, expired or was already used.' }));
          form.querySelector('.form-message').append(h('p', {}, requestAgain()));
        } else {
          showErrors(form, err);
        }
      }
    });
  }

  mount(main, h('h1', {}, 'Choose a new password'), form);
}

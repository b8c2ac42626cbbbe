// Verify the email address with the token from the mail (`?token=`). A
// signed-in shopper whose session says the address is not verified
// (`user.emailVerified`) can ask for a new link.

import { api, session, refreshSession, ApiError } from '../../common/api.js';
import { h, mount, errorPage, describe, busy } from '../../common/dom.js';

/** Renders `/verify-email`. */
export default async function verifyEmail(main, { query, isCurrent }) {
  document.title = 'Verify your email · jojomart';
  const token = query.get('token') || '';
  let outcome;
  if (token) {
    try {
      await api('POST', '/api/auth/verify-email', { body: { token } });
      // the token may be another account's: only a matching session learns it is verified
      if (session.signedIn()) await refreshSession();
      outcome = h('p', { class: 'notice ok' }, 'Thank you: your email address is verified.');
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 400)) {
        errorPage(main, e, () => verifyEmail(main, { query, isCurrent }));
        return;
      }
      outcome = h('p', { class: 'notice error' }, 'This verification link is invalid, expired or was already used.');
    }
  } else {
    outcome = h('p', {}, 'Open the link in the mail we sent when you registered to verify your email address.');
  }
  if (!isCurrent()) return;
  const verified = outcome.classList.contains('ok');
  mount(main,
    h('h1', {}, verified ? 'Email verified' : 'Verify your email'),
    outcome,
    verified ? h('p', {}, h('a', { href: '/' }, 'Continue shopping')) : resend(),
  );
}

/** "Send a new link" for a signed-in, unverified shopper; a sign-in link for a visitor. */
function resend() {
  if (!session.signedIn()) {
    return h('p', {}, h('a', { href: '/login?next=%2Fverify-email' }, 'Sign in'), ' to get a new verification link.');
  }
  if (session.user()?.emailVerified === true) {
    return h('p', { class: 'notice ok' }, `Your email address ${session.user().email} is verified.`);
  }
  const result = h('div', { role: 'status' });
  const form = h('form', { onsubmit: send }, h('button', { type: 'submit' }, 'Send a new link'), result);
  async function send(e) {
    e.preventDefault();
    await busy(form, async () => {
      try {
        await api('POST', '/api/auth/verify-email/resend');
        mount(result, h('p', { class: 'notice ok' }, `We sent a new link to ${session.user()?.email ?? 'your email address'}.`));
      } catch (err) {
        const text = err instanceof ApiError && err.status === 409 ? 'Your email address is already verified.' : describe(err);
        mount(result, h('p', { class: err instanceof ApiError && err.status === 409 ? 'notice ok' : 'notice error' }, text));
      }
    });
  }
  return form;
}

// The mail the shop sent the shopper, newest first, a page at a time:
// subject, what it was about, whether it went out, and when.

import { api, session } from '../../common/api.js';
import { h, mount, when, errorPage } from '../../common/dom.js';
import { signInPrompt, pager } from '../shopper.js';

/** Event kinds in words; an unknown kind shows as it is. */
const KINDS = {
  'order.placed': 'Order placed',
  'order.paid': 'Payment received',
  'order.shipped': 'Order shipped',
  'order.delivered': 'Order delivered',
  'order.cancelled': 'Order cancelled',
  'order.refunded': 'Order refunded',
  'account.verification-requested': 'Email verification',
  'account.password-reset-requested': 'Password reset',
};

const STATUS = {
  pending: ['Sending', 'warn'],
  sent: ['Sent', 'ok'],
  failed: ['Failed', 'danger'],
  skipped: ['Not sent (your preferences)', ''],
};

/** Renders the notification list. */
export default async function notifications(main, ctx) {
  document.title = 'Notifications · jojomart';
  if (!session.signedIn()) {
    signInPrompt(main, 'Notifications', 'Sign in to see the messages we sent you.');
    return;
  }
  const cursor = ctx.query.get('cursor');
  let page;
  try {
    page = await api('GET', '/api/notifications', { query: { limit: 20, cursor } });
  } catch (e) {
    errorPage(main, e, () => notifications(main, ctx));
    return;
  }
  if (!page.items.length && !cursor) {
    mount(main, h('h1', {}, 'Notifications'), h('p', {}, 'We have not sent you anything yet.'));
    return;
  }
  mount(main,
    h('h1', {}, 'Notifications'),
    h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Messages we sent you, newest first'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Subject'),
        h('th', { scope: 'col' }, 'About'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Date'))),
      h('tbody', {}, page.items.map((n) => {
        const [status, kind] = STATUS[n.status] ?? [n.status, ''];
        return h('tr', {},
          h('td', {}, n.subject),
          h('td', {}, KINDS[n.kind] ?? n.kind),
          h('td', {}, h('span', { class: `badge ${kind}` }, status), n.channel === 'email' ? null : ` (${n.channel})`),
          h('td', {}, when(n.createdAt)));
      }))),
    pager('/notifications', 'More notifications', cursor, page.nextCursor));
}

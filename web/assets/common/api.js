// The one client of the HTTP contract both apps use: JSON in and out, the
// session (tokens in localStorage, refreshed once on a 401), the anonymous
// cart id (X-Cart-Id), and every failure turned into an ApiError carrying the
// problem+json body, or a NetworkError when the API cannot be reached.

/** The API's origin: empty (same origin) under `jojomart dev`; the API
 *  Management gateway when deployed as a Static Web App. */
export const API_BASE =
  document.querySelector('meta[name="jojomart-api"]')?.getAttribute('content') ?? '';

const KEYS = { session: 'jojomart.session', cart: 'jojomart.cart' };

/** A failed call: `status`, the problem+json `problem`, and its field `errors`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The request failed (${status}).`);
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
    this.retryAfter = null;
  }
}

/** The API did not answer at all (down, offline, or answered 502/503/504). */
export class NetworkError extends Error {
  constructor(cause) {
    super('The shop cannot be reached right now. Check your connection and try again in a moment.');
    this.cause = cause;
  }
}

const listeners = new Set();

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

function write(key, value) {
  if (value == null) localStorage.removeItem(key);
  else localStorage.setItem(key, JSON.stringify(value));
}

/** The signed-in shopper (or admin), kept across reloads and tabs. */
export const session = {
  /** `{id, email, name, roles}` or null. */
  user() {
    return read(KEYS.session)?.user ?? null;
  },
  /** Whether someone is signed in. */
  signedIn() {
    return !!read(KEYS.session)?.accessToken;
  },
  /** Whether the signed-in user holds the `admin` role. */
  isAdmin() {
    return !!this.user()?.roles?.includes('admin');
  },
  /** Keeps the answer of register, login or refresh. */
  save(auth) {
    const previous = read(KEYS.session);
    write(KEYS.session, {
      user: auth.user ?? previous?.user ?? null,
      accessToken: auth.accessToken,
      refreshToken: auth.refreshToken,
    });
    notify();
  },
  /** Replaces the kept user (after a profile change). */
  setUser(user) {
    const s = read(KEYS.session);
    if (s) write(KEYS.session, { ...s, user: { ...s.user, ...user } });
    notify();
  },
  /** Forgets the session (sign-out, or a refresh that failed). */
  clear() {
    write(KEYS.session, null);
    notify();
  },
  /** Calls `fn()` whenever the session changes (here or in another tab). */
  onChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function notify() {
  for (const fn of listeners) fn();
}

window.addEventListener('storage', (e) => {
  if (e.key === KEYS.session || e.key === KEYS.cart) notify();
});

/** The anonymous cart's id, until a sign-in merges it. */
export const cartId = {
  get: () => read(KEYS.cart),
  set: (id) => write(KEYS.cart, id),
  clear: () => write(KEYS.cart, null),
};

let refreshing = null;

async function refresh() {
  const s = read(KEYS.session);
  if (!s?.refreshToken) return false;
  refreshing ??= (async () => {
    try {
      const r = await fetch(`${API_BASE}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refreshToken: s.refreshToken }),
      });
      if (!r.ok) {
        session.clear();
        return false;
      }
      session.save(await r.json());
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * Calls the API: `api('GET', '/api/products', {query})`,
 * `api('POST', '/api/cart/items', {body})`. Options: `query` (object; empty
 * values dropped), `body` (JSON unless it is a Blob/ArrayBuffer, sent raw
 * with `contentType`), `headers`, `raw` (return the Response). Resolves to the
 * parsed JSON (null for 204); rejects with ApiError or NetworkError.
 */
export async function api(method, path, options = {}) {
  const { query, body, headers = {}, raw = false, contentType } = options;
  let url = `${API_BASE}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const send = async () => {
    const h = { Accept: 'application/json, application/problem+json', ...headers };
    const s = read(KEYS.session);
    if (s?.accessToken) h.Authorization = `Bearer ${s.accessToken}`;
    const cart = cartId.get();
    if (cart && !h['X-Cart-Id']) h['X-Cart-Id'] = cart;
    let payload;
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      payload = body;
      h['Content-Type'] = contentType || body.type || 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
    try {
      return await fetch(url, { method, headers: h, body: payload });
    } catch (e) {
      throw new NetworkError(e);
    }
  };
  let response = await send();
  if (response.status === 401 && read(KEYS.session)?.refreshToken && !path.startsWith('/api/auth/')) {
    if (await refresh()) response = await send();
  }
  const issued = response.headers.get('X-Cart-Id');
  if (issued && !session.signedIn()) cartId.set(issued);
  if ([502, 503, 504].includes(response.status)) throw new NetworkError(null);
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      /* not JSON */
    }
    const error = new ApiError(response.status, problem);
    error.retryAfter = response.headers.get('Retry-After');
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** Signs in (or registers, with `name`), merging the anonymous cart. */
export async function signIn(path, body) {
  const auth = await api('POST', path, { body });
  cartId.clear();
  session.save(auth);
  return auth;
}

/** Signs out: the refresh family is revoked, the local session forgotten. */
export async function signOut() {
  const s = read(KEYS.session);
  try {
    if (s?.refreshToken) await api('POST', '/api/auth/logout', { body: { refreshToken: s.refreshToken } });
  } catch {
    /* signing out locally is enough when the API is away */
  } finally {
    session.clear();
  }
}

/** Trades the refresh token for a new session now, so the kept user (roles,
 *  `emailVerified`) is as the server sees it; resolves to whether it worked. */
export function refreshSession() {
  return refresh();
}

/** A fresh Idempotency-Key for one checkout attempt. */
export function idempotencyKey() {
  return crypto.randomUUID();
}

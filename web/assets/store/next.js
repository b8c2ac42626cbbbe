// Where to go after signing in: `?next=` when it is a path on this site.

/** The `next` query parameter if it is a local path (never another origin), else `/`. */
export function nextPath(query) {
  const next = query.get('next') || '';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

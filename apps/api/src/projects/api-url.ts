// URLs of API objects as LXD writes them in `used_by`, Location headers and lifecycle sources: each path segment
// escaped like Go's url.PathEscape, `?project=` only outside the default project, `?target=` only in a cluster.

const PATH_SAFE = /[A-Za-z0-9\-_.~$&+,:;=@]/;

/** Go's url.PathEscape. */
export function pathEscape(segment: string): string {
  let out = '';
  for (const ch of segment) {
    if (PATH_SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryEscape (space becomes "+"). */
function queryEscape(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function apiUrl(segments: readonly string[], project = 'default', target = ''): string {
  const path = '/1.0/' + segments.map(pathEscape).join('/');
  const query: string[] = [];
  if (project !== '' && project !== 'default') query.push(`project=${queryEscape(project)}`);
  if (target !== '' && target !== 'none') query.push(`target=${queryEscape(target)}`);
  return query.length ? `${path}?${query.join('&')}` : path;
}

/** The project a `used_by` URL points into (its `?project=`, else "default"). */
export function projectOfUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return 'default';
  return new URLSearchParams(url.slice(q + 1)).get('project') || 'default';
}

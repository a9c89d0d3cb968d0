// The portal's only channel to the server: GET requests to the same-origin JSON API (/api/v1/...).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

const enc = encodeURIComponent;

/** GET a JSON document; errors ({"error":{"status","code","message"}}) become ApiError. */
export async function getJSON(path, params) {
  let url = path;
  if (params) {
    const q = Object.entries(params)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join('&');
    if (q) url += `?${q}`;
  }
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const err = body && body.error ? body.error : {};
    throw new ApiError(err.status || res.status, err.code, err.message || res.statusText);
  }
  if (body === null) throw new ApiError(res.status, 'bad_json', 'the server did not answer with JSON');
  return body;
}

export const api = {
  log: () => getJSON('/api/v1/log'),
  funds: () => getJSON('/api/v1/funds'),
  dashboard: (fund) => getJSON(`/api/v1/funds/${enc(fund)}/dashboard`),
  programmes: () => getJSON('/api/v1/programmes'),
  programme: (id) => getJSON(`/api/v1/programmes/${enc(id)}`),
  child: (id) => getJSON(`/api/v1/children/${enc(id)}`),
  childProofUrl: (id) => `/api/v1/children/${enc(id)}/proof`,
  childProof: (id) => getJSON(`/api/v1/children/${enc(id)}/proof`),
  donor: (id) => getJSON(`/api/v1/donors/${enc(id)}`),
  search: (params) => getJSON('/api/v1/search', params),
};

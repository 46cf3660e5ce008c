// api.js — the one way the dashboard talks to the Lockstep API: JSON in and
// out, errors as ApiError with the server's `detail`, and the session.
//
// The session: the refresh token lives only in the HttpOnly cookie
// `lockstep_refresh` (scripts cannot read it); the access token lives only in
// this module's variable — never in storage, the URL or a global — and is
// renewed through the cookie before it expires.

const LOGIN = '/api/v1/auth/login?session=cookie';
const REFRESH = '/api/v1/auth/refresh';
const LOGOUT = '/api/v1/auth/logout';
/** Renew this long before the access token expires. */
const REFRESH_MARGIN_SECONDS = 60;
/** After a failed renewal that was not a 401 (server down), try again after this. */
const REFRESH_RETRY_SECONDS = 30;

let accessToken = null;
let refreshTimer = null;
let refreshing = null;
let sessionLost = () => {};

/** An API error: `status` (0 when the server could not be reached) and the
 * server's `detail`, which is also the message. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

/** Called once a session ends on its own (the refresh token was refused). */
export function onSessionLost(handler) {
  sessionLost = handler;
}

async function send(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'Cannot reach the Lockstep server.');
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    throw new ApiError(0, 'The connection to the Lockstep server was lost.');
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const detail = data && typeof data.detail === 'string' && data.detail
      ? data.detail
      : `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
    throw new ApiError(res.status, detail);
  }
  return data;
}

function forget() {
  accessToken = null;
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh(seconds) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshSession().catch((e) => {
      if (e.status === 401) sessionLost('Your session has expired. Please sign in again.');
      else scheduleRefresh(REFRESH_RETRY_SECONDS);
    });
  }, seconds * 1000);
}

function adopt(grant) {
  if (!grant || typeof grant.access_token !== 'string')
    throw new ApiError(500, 'The server did not send an access token.');
  accessToken = grant.access_token;
  const life = Number(grant.expires_in) > 0 ? Number(grant.expires_in) : 1800;
  scheduleRefresh(Math.max(5, Math.min(life - REFRESH_MARGIN_SECONDS, life * 0.8)));
}

/* Renewals rotate the cookie, and a rotated cookie sent again ends the whole
 * session (reuse detection): tabs of this origin take turns through a lock. */
function oneAtATime(fn) {
  if (navigator.locks && typeof navigator.locks.request === 'function')
    return navigator.locks.request('lockstep-session-refresh', fn);
  return fn();
}

/** Sign in: the access token is kept here, the refresh token set as the cookie. */
export async function login(email, password) {
  forget();
  adopt(await send('POST', LOGIN, { body: { email, password } }));
}

/** Get a new access token through the cookie. Rejects with ApiError 401 when
 * there is no session (never signed in, logged out, expired, revoked). */
export function refreshSession() {
  if (!refreshing) {
    refreshing = oneAtATime(() => send('POST', REFRESH))
      .then(adopt)
      .catch((e) => {
        if (e.status === 401) forget();
        throw e;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** True while this page holds an access token. */
export function signedIn() {
  return accessToken !== null;
}

/** An authenticated API call; renews the access token once on a 401. */
export async function request(method, path, body) {
  if (!accessToken) await refreshSession();
  try {
    return await send(method, path, { body, token: accessToken });
  } catch (e) {
    if (e.status !== 401) throw e;
  }
  try {
    await refreshSession();
  } catch (e) {
    if (e.status === 401) sessionLost('Your session has ended. Please sign in again.');
    throw e;
  }
  return send(method, path, { body, token: accessToken });
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);

/** Sign out: revoke the session on the server (which clears the cookie) and
 * forget the access token whatever the answer. */
export async function logout() {
  try {
    if (accessToken) await request('POST', LOGOUT);
  } finally {
    forget();
  }
}

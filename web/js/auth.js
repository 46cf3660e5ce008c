// auth.js — who is signed in: restoring the session on load, signing in and
// out, and the signed-in user (GET /auth/me).
import { ApiError, get, login, logout, refreshSession } from './api.js';

let currentUser = null;

/** The signed-in user {id, email, name, role, is_active}, or null. */
export function user() {
  return currentUser;
}

export function isAdmin(u = currentUser) {
  return !!u && u.role === 'admin';
}

/** Resume the session kept in the cookie. Resolves with the user, or null
 * when there is none; rejects with ApiError when the server cannot answer. */
export async function restore() {
  try {
    await refreshSession();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      currentUser = null;
      return null;
    }
    throw e;
  }
  currentUser = await get('/api/v1/auth/me');
  return currentUser;
}

/** Sign in with email and password; rejects with the server's ApiError. */
export async function signIn(email, password) {
  await login(email, password);
  currentUser = await get('/api/v1/auth/me');
  return currentUser;
}

/** Sign out everywhere this session reaches; never rejects. Returns an error
 * message when the server could not be told. */
export async function signOut() {
  currentUser = null;
  try {
    await logout();
    return null;
  } catch (e) {
    return e instanceof ApiError && e.status === 401
      ? null
      : 'The server could not be reached to end the session; it ends when it expires.';
  }
}

export function forgetUser() {
  currentUser = null;
}

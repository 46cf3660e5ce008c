// login.js — the sign-in page: email and password, the API's error shown in
// the form, the button busy while the server checks the password.
import { signIn } from './auth.js';
import { h } from './dom.js';

/** Draw the sign-in form into `main`; `onSignedIn(user)` runs after success.
 * `message` (optional) is shown above the form. Returns the teardown. */
export function mountLogin(main, { message, onSignedIn }) {
  const email = h('input', {
    id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true,
    spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': 'login-error',
  });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, 'aria-describedby': 'login-error',
  });
  const error = h('p', { id: 'login-error', class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  let alive = true;

  async function onSubmit(event) {
    event.preventDefault();
    error.hidden = true;
    error.textContent = '';
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const user = await signIn(email.value.trim(), password.value);
      if (alive) onSignedIn(user);
    } catch (e) {
      if (!alive) return;
      error.textContent = e.message || 'Sign-in failed.';
      error.hidden = false;
      password.value = '';
      password.setAttribute('aria-invalid', 'true');
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  }

  const form = h('form', { class: 'login-form', method: 'post', novalidate: false, onsubmit: onSubmit },
    h('div', { class: 'field' }, h('label', { for: 'login-email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    error,
    submit);

  main.replaceChildren(
    h('section', { class: 'login-page' },
      h('div', { class: 'login-card' },
        h('div', { class: 'login-brand' },
          h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
          h('span', { class: 'brand-name' }, 'Lockstep')),
        h('h1', {}, 'Sign in'),
        h('p', { class: 'muted' }, 'Admin dashboard: progress and license health.'),
        message ? h('p', { class: 'notice', role: 'status' }, message) : null,
        form)));
  email.focus();
  return () => {
    alive = false;
  };
}

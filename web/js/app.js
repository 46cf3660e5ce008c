// app.js — the dashboard's entry point: restores the session, routes the
// client paths (/login, /admin/dashboard, /admin/health, /admin/stabilization)
// and draws the top bar.
import { onSessionLost } from './api.js';
import * as auth from './auth.js';
import { h, replace } from './dom.js';
import { mountLogin } from './login.js';
import { mountDashboard } from './dashboard.js';
import { mountHealth } from './health.js';
import { mountStabilization } from './stabilization.js';

const HOME = '/admin/dashboard';
const ADMIN_ROUTES = {
  '/admin/dashboard': { title: 'Dashboard', nav: 'Dashboard', mount: mountDashboard },
  '/admin/health': { title: 'Health Monitor', nav: 'Health Monitor', mount: mountHealth },
  '/admin/stabilization': { title: 'Stabilization', nav: 'Stabilization', mount: mountStabilization },
};

let unmount = null;
let flash = null; // a message for the next view: "You have been signed out."
let firstRender = true;

function currentPath() {
  const p = location.pathname.length > 1 ? location.pathname.replace(/\/+$/, '') : location.pathname;
  return p || '/';
}

/** Only the dashboard's own pages may be a place to return to after signing
 * in, with an anchor such as the #alert-RULE of an alert's link. */
function safeNext(value) {
  const m = /^([^#]*)(#[\w-]+)?$/.exec(value || '');
  return m && Object.hasOwn(ADMIN_ROUTES, m[1]) ? value : null;
}

/** The current page and anchor, as a place to return to. */
function here(path) {
  return /^#[\w-]+$/.test(location.hash) ? path + location.hash : path;
}

export function navigate(path, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function setTitle(title) {
  document.title = title ? `${title} · Lockstep` : 'Lockstep';
}

async function signOut() {
  const problem = await auth.signOut();
  flash = problem || 'You have been signed out.';
  navigate('/login', { replace: true });
}

function drawTopbar(path) {
  const bar = document.getElementById('topbar');
  const u = auth.user();
  if (!u) {
    bar.hidden = true;
    bar.replaceChildren();
    return;
  }
  const links = auth.isAdmin(u)
    ? Object.entries(ADMIN_ROUTES).map(([href, r]) =>
      h('a', { href, class: 'nav-link', 'aria-current': href === path ? 'page' : null, 'data-route': '' }, r.nav))
    : [];
  replace(bar,
    h('div', { class: 'topbar-inner' },
      h('a', { href: auth.isAdmin(u) ? HOME : '/', class: 'brand', 'data-route': '' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', { class: 'brand-name' }, 'Lockstep')),
      links.length ? h('nav', { class: 'nav', 'aria-label': 'Main' }, links) : null,
      h('div', { class: 'account' },
        h('span', { class: 'account-email', title: `Signed in as ${u.email}` },
          h('span', { class: 'sr-only' }, 'Signed in as '), u.email),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'logout', onclick: signOut }, 'Log out'))));
  bar.hidden = false;
}

function focusHeading(main) {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function notFound(main, path) {
  setTitle('Page not found');
  replace(main,
    h('section', { class: 'message-page' },
      h('p', { class: 'message-code', 'aria-hidden': 'true' }, '404'),
      h('h1', {}, 'Page not found'),
      h('p', {}, 'There is no dashboard page at ', h('code', {}, path), '.'),
      h('a', { href: auth.user() ? HOME : '/login', class: 'btn btn-primary', 'data-route': '' },
        auth.user() ? 'Go to the dashboard' : 'Go to sign in')));
}

function adminsOnly(main) {
  const u = auth.user();
  setTitle('Administrators only');
  replace(main,
    h('section', { class: 'message-page', 'data-testid': 'not-admin' },
      h('p', { class: 'message-code', 'aria-hidden': 'true' }, '403'),
      h('h1', {}, 'This dashboard is for administrators'),
      h('p', {}, 'You are signed in as ', h('strong', {}, u.email), ` (${u.role}). `,
        'The Lockstep dashboard and its health monitor are available to administrators only; ',
        'ask an administrator if you need access.'),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: signOut }, 'Sign out')));
}

function render() {
  if (unmount) {
    unmount();
    unmount = null;
  }
  const main = document.getElementById('main');
  const path = currentPath();
  const params = new URLSearchParams(location.search);
  const u = auth.user();
  drawTopbar(path);

  if (path === '/') {
    navigate(u ? HOME : '/login', { replace: true });
    return;
  }
  if (path === '/login') {
    const next = safeNext(params.get('next'));
    if (u) {
      navigate(next || HOME, { replace: true });
      return;
    }
    setTitle('Sign in');
    const message = flash;
    flash = null;
    unmount = mountLogin(main, {
      message,
      onSignedIn: () => navigate(next || HOME, { replace: true }),
    });
  } else if (Object.hasOwn(ADMIN_ROUTES, path)) {
    if (!u) {
      navigate(`/login?next=${encodeURIComponent(here(path))}`, { replace: true });
      return;
    }
    if (!auth.isAdmin(u)) {
      adminsOnly(main);
    } else {
      setTitle(ADMIN_ROUTES[path].title);
      unmount = ADMIN_ROUTES[path].mount(main, { navigate, user: u });
    }
  } else {
    notFound(main, path);
  }
  if (!firstRender) focusHeading(main);
  firstRender = false;
}

/* Links marked data-route change the view without reloading the page. */
function interceptLinks(event) {
  const a = event.target.closest && event.target.closest('a[data-route]');
  if (!a || event.defaultPrevented || event.button !== 0 ||
      event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
}

function unreachable(error) {
  const main = document.getElementById('main');
  setTitle('Server unavailable');
  replace(main,
    h('section', { class: 'message-page' },
      h('h1', {}, 'Cannot reach the Lockstep server'),
      h('p', { role: 'alert' }, error.message),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: boot }, 'Try again')));
}

async function boot() {
  try {
    await auth.restore();
  } catch (e) {
    unreachable(e);
    return;
  }
  render();
}

onSessionLost((message) => {
  auth.forgetUser();
  flash = message;
  const path = currentPath();
  navigate(Object.hasOwn(ADMIN_ROUTES, path) ? `/login?next=${encodeURIComponent(path)}` : '/login',
    { replace: true });
});
document.addEventListener('click', interceptLinks);
window.addEventListener('popstate', render);
boot();

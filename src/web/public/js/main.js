/* global document, location, window */
// Entry point: session check, hash routing, the top bar and page-wide keyboard shortcuts.
import { ApiError, api, currentSession, messageOf, onSessionEnded, setCsrfToken } from './api.js';
import { dialogOpen, helpDialog } from './dialogs.js';
import { isTyping } from './dom.js';
import { failure, refreshPendingCount, toast } from './shell.js';
import { agentsView } from './views/agents.js';
import { clusterView } from './views/cluster.js';
import { exportsView } from './views/exports.js';
import { queueView } from './views/queue.js';
import { signInView } from './views/signin.js';

/** The pages, by the first part of the location hash. */
const VIEWS = { queue: queueView, cluster: clusterView, agents: agentsView, exports: exportsView };

/** @typedef {import('./types.js').Session} Session */

/**
 * @typedef {object} ViewContext
 * @property {HTMLElement} root the view's own element
 * @property {string[]} path hash path segments after the page name
 * @property {URLSearchParams} params hash query
 * @property {Session} session
 */

/**
 * @typedef {object} View
 * @property {(event: KeyboardEvent) => boolean} [onKey] handles a shortcut; true when it did
 * @property {[string, string][]} [shortcuts] for the help dialog
 */

/** @type {Session | null} */
let session = null;
/** @type {View} */
let view = {};
/** @type {string} */
let afterSignIn = '#/queue';

const GLOBAL_SHORTCUTS = /** @type {[string, string][]} */ ([
  ['?', 'this help'],
  ['g q', 'go to the queue'],
  ['g a', 'go to agents'],
  ['g e', 'go to exports'],
]);

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from index.html`);
  return element;
}

function route() {
  const main = byId('view');
  const root = document.createElement('div');
  main.replaceChildren(root);
  window.scrollTo(0, 0);
  if (!session) {
    view = signInView(root, signedIn);
    return;
  }
  const [pathPart = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [page = 'queue', ...rest] = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle(
      'active',
      link instanceof HTMLElement && link.dataset.nav === (page === 'cluster' ? 'queue' : page),
    );
  }
  /** @type {ViewContext} */
  const context = { root, path: rest, params: new URLSearchParams(search), session };
  const render = Object.hasOwn(VIEWS, page) ? VIEWS[/** @type {keyof typeof VIEWS} */ (page)] : undefined;
  if (render) view = render(context);
  else {
    view = {};
    root.append(failure('No such page.'));
  }
}

/** @param {Session} started */
function signedIn(started) {
  session = started;
  setCsrfToken(started.csrfToken);
  showTopbar();
  const target = afterSignIn;
  afterSignIn = '#/queue';
  if (location.hash === target) route();
  else location.hash = target;
}

function showTopbar() {
  document.body.classList.toggle('signed-out', !session);
  byId('topbar').hidden = !session;
  byId('who').textContent = session ? [session.role, session.operator].filter(Boolean).join(' · ') : '';
  if (session) void refreshPendingCount();
}

/** @param {ApiError} error */
function sessionEnded(error) {
  if (!session) return;
  session = null;
  setCsrfToken('');
  afterSignIn = location.hash || '#/queue';
  showTopbar();
  route();
  toast(error.code === 'session_expired' ? 'Your session ended. Sign in again.' : messageOf(error), 'info');
}

async function signOut() {
  try {
    await api('/v1/session', { method: 'DELETE', quiet401: true });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      toast(messageOf(error), 'error');
      return;
    }
  }
  session = null;
  setCsrfToken('');
  afterSignIn = '#/queue';
  showTopbar();
  route();
}

function showHelp() {
  void helpDialog([...(view.shortcuts ?? []), ...GLOBAL_SHORTCUTS]);
}

let pendingG = false;

/** @param {KeyboardEvent} event */
function onKey(event) {
  if (!session || dialogOpen() || isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (pendingG) {
    pendingG = false;
    /** @type {Record<string, string>} */
    const pages = { q: '#/queue', a: '#/agents', e: '#/exports' };
    const target = pages[event.key];
    if (target) {
      event.preventDefault();
      location.hash = target;
      return;
    }
  }
  if (event.key === '?') {
    event.preventDefault();
    showHelp();
    return;
  }
  if (view.onKey?.(event)) {
    event.preventDefault();
    return;
  }
  if (event.key === 'g') pendingG = true;
}

async function boot() {
  onSessionEnded(sessionEnded);
  byId('sign-out').addEventListener('click', () => void signOut());
  byId('help-button').addEventListener('click', showHelp);
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  try {
    session = await currentSession();
  } catch (error) {
    byId('view').replaceChildren(failure(messageOf(error)));
    document.body.classList.remove('booting');
    return;
  }
  if (session) setCsrfToken(session.csrfToken);
  else if (location.hash && !location.hash.startsWith('#/signin')) afterSignIn = location.hash;
  document.body.classList.remove('booting');
  showTopbar();
  route();
}

void boot();

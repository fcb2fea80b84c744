/* global document, location, setTimeout, window */
// Page-wide pieces shared by the views: notices and navigation.
import { api, query } from './api.js';
import { h } from './dom.js';

/**
 * A short notice in the corner; errors stay until dismissed by the next notice or a click.
 * @param {string} message
 * @param {'ok' | 'error' | 'info'} [kind]
 */
export function toast(message, kind = 'ok') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const note = h('div', { class: `toast ${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } }, message);
  note.addEventListener('click', () => note.remove());
  region.append(note);
  if (kind !== 'error') setTimeout(() => note.remove(), 4000);
  while (region.children.length > 4) region.firstElementChild?.remove();
}

/** @param {string} hash e.g. `#/cluster/12` */
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** @param {string} title */
export function setTitle(title) {
  document.title = `${title} · simsift review`;
}

/**
 * A loading placeholder.
 * @param {string} [text]
 */
export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', attrs: { 'aria-busy': 'true' } }, h('span', { class: 'spinner' }), text);
}

/**
 * A failure in place of a view.
 * @param {string} message
 */
export function failure(message) {
  return h('div', { class: 'empty error' }, message);
}

/** The "N left" badge in the top bar: flagged clusters with numbers still pending review. */
export async function refreshPendingCount() {
  const badge = document.getElementById('pending-count');
  if (!badge) return;
  try {
    /** @type {import('./types.js').ClusterList} */
    const page = await api(`/v1/clusters${query({ flagged: true, status: 'pending', limit: 1 })}`);
    badge.textContent = `${page.total} left`;
    badge.classList.toggle('zero', page.total === 0);
  } catch {
    badge.textContent = '';
  }
}

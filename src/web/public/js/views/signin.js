import { ApiError, api, messageOf } from '../api.js';
import { h } from '../dom.js';
import { setTitle } from '../shell.js';

/**
 * The sign-in card: an analyst key is exchanged for a session cookie; the key itself is not kept.
 * @param {HTMLElement} root
 * @param {(session: import('../types.js').Session) => void} signedIn
 * @returns {import('../main.js').View}
 */
export function signInView(root, signedIn) {
  setTitle('Sign in');
  const key = h('input', {
    attrs: {
      id: 'key',
      name: 'key',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: 'Paste your analyst key',
    },
  });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = h('button', { class: 'btn primary block', attrs: { type: 'submit' } }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin-card', attrs: { 'aria-labelledby': 'signin-title' } },
    h(
      'div',
      { class: 'signin-brand' },
      h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }),
      'simsift',
    ),
    h('h1', { attrs: { id: 'signin-title' } }, 'Analyst review'),
    h(
      'p',
      { class: 'muted' },
      'Sign in with an analyst or admin API key. The key is exchanged for a session and not stored.',
    ),
    h('label', { class: 'field' }, h('span', null, 'API key'), key),
    error,
    submit,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    api('/v1/session', { method: 'POST', body: { key: key.value.trim() }, quiet401: true }).then(
      (/** @type {import('../types.js').Session} */ session) => {
        key.value = '';
        signedIn(session);
      },
      (/** @type {unknown} */ failure) => {
        submit.disabled = false;
        error.textContent =
          failure instanceof ApiError && failure.status === 401
            ? 'That key is not valid, revoked, or not an analyst key.'
            : failure instanceof ApiError && failure.status === 403
              ? 'This key may not use the review page (analyst or admin keys only).'
              : messageOf(failure);
        key.select();
      },
    );
  });
  root.append(h('div', { class: 'signin' }, form));
  key.focus();
  return {};
}

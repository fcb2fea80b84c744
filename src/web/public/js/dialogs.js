/* global document */
import { messageOf } from './api.js';
import { h } from './dom.js';
import { CONFIRM_SOURCES, DISMISS_REASONS, statusChip } from './labels.js';

/** @typedef {import('./dom.js').Child} Child */
/** @typedef {{ msisdn: string, operator: string, status: string, name?: string }} NumberChoice */

/** True while a modal is open: page shortcuts stay quiet. */
export function dialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}

/**
 * Shows a modal form. `collect` reads the form (a string is a validation message that keeps it open);
 * `submit` runs the request while the dialog waits, and its failure is shown in the dialog.
 * @template T, R
 * @param {{
 *   title: string,
 *   body: Child,
 *   submitLabel: string,
 *   tone?: 'primary' | 'danger' | 'neutral',
 *   wide?: boolean,
 *   collect: (form: HTMLFormElement) => T | string,
 *   submit: (value: T) => Promise<R>,
 * }} options
 * @returns {Promise<R | null>}
 */
export function modal(options) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
    const submitButton = h(
      'button',
      { class: `btn ${options.tone ?? 'primary'}`, attrs: { type: 'submit', 'data-autofocus': true } },
      options.submitLabel,
    );
    const cancel = h('button', { class: 'btn ghost', attrs: { type: 'button' } }, 'Cancel');
    const form = h(
      'form',
      null,
      h('h2', null, options.title),
      h('div', { class: 'dialog-body' }, options.body),
      error,
      h('div', { class: 'dialog-actions' }, cancel, submitButton),
    );
    const dialog = h('dialog', { class: options.wide ? 'wide' : '' }, form);
    /** @type {R | null} */
    let result = null;
    let busy = false;
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    dialog.addEventListener('cancel', (event) => {
      if (busy) event.preventDefault();
    });
    cancel.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (busy) return;
      const value = options.collect(form);
      if (typeof value === 'string') {
        error.textContent = value;
        return;
      }
      busy = true;
      submitButton.disabled = true;
      submitButton.classList.add('busy');
      error.textContent = '';
      options.submit(value).then(
        (submitted) => {
          result = submitted;
          busy = false;
          dialog.close();
        },
        (/** @type {unknown} */ failure) => {
          busy = false;
          submitButton.disabled = false;
          submitButton.classList.remove('busy');
          error.textContent = messageOf(failure);
        },
      );
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = /** @type {HTMLElement | null} */ (dialog.querySelector('[data-autofocus-first]')) ?? submitButton;
    first.focus();
  });
}

/**
 * A checklist of numbers.
 * @param {NumberChoice[]} numbers
 * @param {(msisdn: string) => boolean} ticked
 * @param {string} name
 */
export function numberChecklist(numbers, ticked, name = 'msisdn') {
  return h(
    'fieldset',
    { class: 'checklist' },
    h('legend', null, 'Numbers'),
    numbers.map((number) =>
      h(
        'label',
        { class: 'check-row' },
        h('input', {
          attrs: {
            type: 'checkbox',
            name,
            value: number.msisdn,
            checked: ticked(number.msisdn),
          },
        }),
        h('span', { class: 'mono' }, number.msisdn),
        h('span', { class: 'muted' }, number.operator),
        number.name ? h('span', { class: 'ellipsis' }, number.name) : null,
        statusChip(number.status),
      ),
    ),
  );
}

/**
 * The ticked values of checkboxes named `name`.
 * @param {HTMLFormElement} form
 * @param {string} name
 */
export function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]`)]
    .filter((input) => input instanceof HTMLInputElement && input.checked)
    .map((input) => /** @type {HTMLInputElement} */ (input).value);
}

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 */
function formValue(form, name) {
  const element = form.elements.namedItem(name);
  if (
    element instanceof HTMLInputElement ||
    element instanceof HTMLSelectElement ||
    element instanceof HTMLTextAreaElement
  ) {
    return element.value.trim();
  }
  if (element instanceof RadioNodeList) return element.value;
  return '';
}

/**
 * The numbers to send: none (meaning all) when every box is ticked.
 * @param {HTMLFormElement} form
 * @param {NumberChoice[]} numbers
 */
function chosenNumbers(form, numbers) {
  const chosen = checkedValues(form, 'msisdn');
  if (chosen.length === 0) return 'Tick at least one number.';
  return chosen.length === numbers.length ? undefined : chosen;
}

/**
 * Confirm fraud on a cluster's numbers.
 * @template R
 * @param {{ clusterId: number, numbers: NumberChoice[], preselected: Set<string>, submit: (body: import('./types.js').Decision) => Promise<R> }} options
 */
export function confirmDialog({ clusterId, numbers, preselected, submit }) {
  return modal({
    title: `Confirm fraud · cluster #${clusterId}`,
    submitLabel: 'Confirm fraud',
    tone: 'danger',
    body: [
      h(
        'p',
        null,
        'The ticked numbers become confirmed block candidates and go into the next export for their operator.',
      ),
      numbers.length > 0
        ? numberChecklist(numbers, (msisdn) => preselected.size === 0 || preselected.has(msisdn))
        : h('p', { class: 'muted' }, 'All numbers of the cluster.'),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Source'),
        h(
          'select',
          { attrs: { name: 'source' } },
          CONFIRM_SOURCES.map((source) => h('option', { attrs: { value: source.value } }, source.label)),
        ),
      ),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Note (optional)'),
        h('textarea', { attrs: { name: 'note', rows: 2, maxlength: 1000 } }),
      ),
    ],
    collect: (form) => {
      const msisdns = numbers.length > 0 ? chosenNumbers(form, numbers) : undefined;
      if (typeof msisdns === 'string') return msisdns;
      const source = /** @type {'analysis' | 'law_enforcement' | 'bank'} */ (formValue(form, 'source') || 'analysis');
      const note = formValue(form, 'note');
      /** @type {import('./types.js').Decision} */
      const body = { action: 'confirm', source, ...(msisdns ? { msisdns } : {}), ...(note ? { note } : {}) };
      return body;
    },
    submit,
  });
}

/**
 * Dismiss a cluster (or some of its numbers) with a reason; keys 1-3 pick the reason.
 * @template R
 * @param {{ clusterId: number, numbers: NumberChoice[], preselected: Set<string>, submit: (body: import('./types.js').Decision) => Promise<R> }} options
 */
export function dismissDialog({ clusterId, numbers, preselected, submit }) {
  const reasons = h(
    'fieldset',
    { class: 'choices' },
    h('legend', null, 'Reason (1–3)'),
    DISMISS_REASONS.map((reason, i) =>
      h(
        'label',
        { class: 'choice' },
        h('input', {
          attrs: {
            type: 'radio',
            name: 'reason',
            value: reason.value,
            'data-autofocus-first': i === 0,
            'data-key': String(i + 1),
          },
        }),
        h('span', { class: 'kbd' }, String(i + 1)),
        h('span', null, h('strong', null, reason.label), h('span', { class: 'muted' }, ` — ${reason.hint}`)),
      ),
    ),
  );
  reasons.addEventListener('keydown', (event) => {
    const radio = reasons.querySelector(`input[data-key="${event.key}"]`);
    if (radio instanceof HTMLInputElement) {
      radio.checked = true;
      radio.focus();
      event.preventDefault();
    }
  });
  return modal({
    title: `Dismiss · cluster #${clusterId}`,
    submitLabel: 'Dismiss',
    tone: 'neutral',
    body: [
      reasons,
      numbers.length > 0
        ? numberChecklist(numbers, (msisdn) => preselected.size === 0 || preselected.has(msisdn))
        : null,
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Note (optional)'),
        h('textarea', { attrs: { name: 'note', rows: 2, maxlength: 1000 } }),
      ),
    ],
    collect: (form) => {
      const reason = /** @type {'different_people' | 'legitimate_use' | 'bad_photo' | ''} */ (
        formValue(form, 'reason')
      );
      if (!reason) return 'Pick a reason.';
      const msisdns = numbers.length > 0 ? chosenNumbers(form, numbers) : undefined;
      if (typeof msisdns === 'string') return msisdns;
      const note = formValue(form, 'note');
      /** @type {import('./types.js').Decision} */
      const body = { action: 'dismiss', reason, ...(msisdns ? { msisdns } : {}), ...(note ? { note } : {}) };
      return body;
    },
    submit,
  });
}

/**
 * The subscriber keeps some numbers (up to the SIM cap); the others are confirmed.
 * @template R
 * @param {{ clusterId: number, numbers: NumberChoice[], preselected: Set<string>, simCap: number | undefined, submit: (body: import('./types.js').Decision) => Promise<R> }} options
 */
export function keepDialog({ clusterId, numbers, preselected, simCap, submit }) {
  const capText = simCap ? `up to ${simCap}` : 'up to the cap';
  return modal({
    title: `Keep numbers · cluster #${clusterId}`,
    submitLabel: 'Keep ticked, confirm the rest',
    tone: 'primary',
    body: [
      h('p', null, `Tick the numbers the subscriber keeps (${capText}). The others are confirmed as over the cap.`),
      numberChecklist(numbers, (msisdn) => preselected.has(msisdn), 'keep'),
    ],
    collect: (form) => {
      const keep = checkedValues(form, 'keep');
      if (keep.length === 0) return 'Tick the numbers to keep.';
      if (simCap && keep.length > simCap) return `At most ${simCap} numbers may be kept.`;
      /** @type {import('./types.js').Decision} */
      const body = { action: 'keep', keep };
      return body;
    },
    submit,
  });
}

/**
 * Split off the faces that are another person.
 * @template R
 * @param {{ clusterId: number, members: import('./types.js').ClusterMember[], preselected: Set<number>, submit: (body: import('./types.js').Decision) => Promise<R> }} options
 */
export function splitDialog({ clusterId, members, preselected, submit }) {
  return modal({
    title: `Split · cluster #${clusterId}`,
    submitLabel: 'Split off ticked faces',
    tone: 'primary',
    wide: true,
    body: [
      h('p', null, 'Tick the faces that are another person. They leave this cluster and are clustered again.'),
      h(
        'div',
        { class: 'face-picker' },
        members.map((member, i) =>
          h(
            'label',
            { class: 'face-pick' },
            h('input', {
              attrs: { type: 'checkbox', name: 'face', value: member.faceId, checked: preselected.has(member.faceId) },
            }),
            h('img', {
              attrs: { src: member.thumbnailUrl, alt: `face ${i + 1}`, width: 72, height: 72, loading: 'lazy' },
            }),
            h('span', { class: 'ellipsis' }, `${i + 1}. ${member.name}`),
          ),
        ),
      ),
    ],
    collect: (form) => {
      const faceIds = checkedValues(form, 'face').map(Number);
      if (faceIds.length === 0) return 'Tick at least one face.';
      if (faceIds.length === members.length) return 'Leave at least one face in this cluster.';
      /** @type {import('./types.js').Decision} */
      const body = { action: 'split', faceIds };
      return body;
    },
    submit,
  });
}

/**
 * Merge with another cluster (the same person found twice).
 * @template R
 * @param {{ clusterId: number, submit: (body: import('./types.js').Decision) => Promise<R> }} options
 */
export function mergeDialog({ clusterId, submit }) {
  return modal({
    title: `Merge · cluster #${clusterId}`,
    submitLabel: 'Merge',
    tone: 'primary',
    body: [
      h('p', null, 'The other cluster shows the same person; its faces join this one.'),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Other cluster id'),
        h('input', {
          attrs: { name: 'other', type: 'number', min: 1, step: 1, required: true, 'data-autofocus-first': true },
        }),
      ),
    ],
    collect: (form) => {
      const other = Number(formValue(form, 'other'));
      if (!Number.isInteger(other) || other < 1) return 'Enter a cluster id.';
      if (other === clusterId) return 'That is this cluster.';
      /** @type {import('./types.js').Decision} */
      const body = { action: 'merge', otherClusterId: other };
      return body;
    },
    submit,
  });
}

/**
 * The keyboard shortcuts of the current page.
 * @param {[string, string][]} shortcuts
 */
export function helpDialog(shortcuts) {
  return modal({
    title: 'Keyboard shortcuts',
    submitLabel: 'Close',
    tone: 'neutral',
    body: h(
      'table',
      { class: 'shortcuts' },
      h(
        'tbody',
        null,
        shortcuts.map(([keys, what]) =>
          h(
            'tr',
            null,
            h(
              'td',
              null,
              keys.split(' ').map((key) => h('kbd', null, key)),
            ),
            h('td', null, what),
          ),
        ),
      ),
    ),
    collect: () => true,
    submit: async () => true,
  });
}

/**
 * The original enrolment photo, loaded only when asked for.
 * @param {string} url
 * @param {string} caption
 */
export function photoDialog(url, caption) {
  const status = h('p', { class: 'muted' }, 'Loading the original photo…');
  const image = h('img', { class: 'original-photo', attrs: { src: url, alt: caption } });
  image.addEventListener('load', () => status.remove());
  image.addEventListener('error', () => {
    status.textContent = 'The original photo could not be loaded.';
  });
  return modal({
    title: caption,
    submitLabel: 'Close',
    tone: 'neutral',
    wide: true,
    body: [status, image],
    collect: () => true,
    submit: async () => true,
  });
}

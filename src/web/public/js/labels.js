import { h } from './dom.js';

/** @type {Record<string, string>} */
export const REASON_LABELS = {
  MULTI_IDENTITY_FACE: 'One face, many identities',
  SIM_CAP_EXCEEDED: 'SIM cap exceeded',
  DOCUMENT_REUSE: 'Document reused',
  PHOTO_REUSE: 'Photo reused',
  NO_USABLE_FACE: 'No usable face',
};

export const STATUSES = /** @type {const} */ (['pending', 'confirmed', 'dismissed', 'exported']);

/** @type {{ value: 'different_people' | 'legitimate_use' | 'bad_photo', label: string, hint: string }[]} */
export const DISMISS_REASONS = [
  { value: 'different_people', label: 'Different people', hint: 'The faces belong to different persons.' },
  { value: 'legitimate_use', label: 'Legitimate use', hint: 'One person, lawfully holding these numbers.' },
  { value: 'bad_photo', label: 'Bad photo', hint: 'The photo is unusable; the match is not evidence.' },
];

/** @type {{ value: 'analysis' | 'law_enforcement' | 'bank', label: string }[]} */
export const CONFIRM_SOURCES = [
  { value: 'analysis', label: 'Analyst review' },
  { value: 'law_enforcement', label: 'Law enforcement' },
  { value: 'bank', label: 'Bank report' },
];

/** @param {string} reason */
export function reasonChip(reason) {
  return h(
    'span',
    { class: `chip reason reason-${reason.toLowerCase()}`, attrs: { title: reason } },
    REASON_LABELS[reason] ?? reason,
  );
}

/** @param {string} status */
export function statusChip(status) {
  return h('span', { class: `chip status status-${status}` }, status);
}

/**
 * Score as a small bar plus its value.
 * @param {number} score 0..1
 */
export function scoreBar(score) {
  const bar = h('span', { class: 'bar-fill' });
  bar.style.width = `${Math.round(Math.max(0, Math.min(1, score)) * 100)}%`;
  if (score >= 0.8) bar.classList.add('high');
  else if (score >= 0.5) bar.classList.add('mid');
  return h('span', { class: 'score' }, h('span', { class: 'bar' }, bar), h('span', { class: 'num' }, score.toFixed(2)));
}

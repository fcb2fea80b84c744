import { api, messageOf } from '../api.js';
import { dateTime, h, replace } from '../dom.js';
import { STATUSES } from '../labels.js';
import { failure, loading, setTitle, toast } from '../shell.js';

/** @typedef {import('../types.js').ExportRecord} ExportRecord */

/**
 * Block lists for operators: create one, list them, download CSV or JSON.
 * @param {import('../main.js').ViewContext} context
 * @returns {import('../main.js').View}
 */
export function exportsView({ root }) {
  setTitle('Exports');
  const list = h('div', { class: 'results' }, loading());
  const operatorSelect = h(
    'select',
    { attrs: { name: 'operator', required: true } },
    h('option', { attrs: { value: '' } }, 'Loading…'),
  );
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = h('button', { class: 'btn primary', attrs: { type: 'submit' } }, 'Create export');
  const form = h(
    'form',
    { class: 'panel export-form', attrs: { 'aria-label': 'New export' } },
    h('h2', null, 'New export'),
    h(
      'div',
      { class: 'form-row' },
      h('label', { class: 'field' }, h('span', null, 'Operator'), operatorSelect),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Status'),
        h(
          'select',
          { attrs: { name: 'status' } },
          h('option', { attrs: { value: '' } }, 'Default'),
          STATUSES.map((status) => h('option', { attrs: { value: status } }, status)),
        ),
      ),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Decided since'),
        h('input', { attrs: { name: 'since', type: 'date' } }),
      ),
      h(
        'label',
        { class: 'check-row', attrs: { title: 'Include numbers that an earlier export already listed' } },
        h('input', { attrs: { name: 'full', type: 'checkbox' } }),
        'Full (include exported numbers)',
      ),
      submit,
    ),
    error,
  );
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Exports')),
    form,
    h('section', { class: 'panel' }, h('h2', null, 'Exports so far'), list),
  );

  api('/v1/operators').then(
    (/** @type {{ items: import('../types.js').Operator[] }} */ operators) => {
      replace(
        operatorSelect,
        h('option', { attrs: { value: '' } }, 'Choose…'),
        operators.items.map((operator) =>
          h('option', { attrs: { value: operator.code } }, `${operator.code} — ${operator.name}`),
        ),
      );
    },
    (/** @type {unknown} */ failed) => {
      replace(operatorSelect, h('option', { attrs: { value: '' } }, 'Operators unavailable'));
      error.textContent = messageOf(failed);
    },
  );

  async function loadList() {
    try {
      /** @type {{ items: ExportRecord[] }} */
      const exports = await api('/v1/exports');
      replace(
        list,
        exports.items.length === 0 ? h('div', { class: 'empty' }, 'No exports yet.') : exportTable(exports.items),
      );
    } catch (failed) {
      replace(list, failure(`The exports could not be loaded: ${messageOf(failed)}`));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (/** @type {string} */ name) => {
      const value = data.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    const operator = text('operator');
    if (!operator) {
      error.textContent = 'Choose an operator.';
      return;
    }
    const status = text('status');
    const since = text('since');
    /** @type {{ operator: string, status?: string, since?: string, full?: boolean }} */
    const body = { operator };
    if (status) body.status = status;
    if (since) body.since = new Date(`${since}T00:00:00`).toISOString();
    if (data.get('full')) body.full = true;
    submit.disabled = true;
    error.textContent = '';
    api('/v1/exports', { method: 'POST', body }).then(
      (/** @type {ExportRecord} */ created) => {
        submit.disabled = false;
        toast(`Export #${created.id}: ${created.rowCount} numbers for ${created.operator}`);
        void loadList();
      },
      (/** @type {unknown} */ failed) => {
        submit.disabled = false;
        error.textContent = messageOf(failed);
      },
    );
  });

  void loadList();
  return {};
}

/** @param {ExportRecord[]} items */
function exportTable(items) {
  /** @param {string} sha */
  const short = (sha) => h('span', { class: 'mono', attrs: { title: sha } }, sha.slice(0, 12));
  /**
   * @param {ExportRecord} record
   * @param {'csv' | 'json'} format
   */
  const download = (record, format) =>
    h(
      'a',
      {
        class: 'btn ghost small',
        attrs: {
          href: `/v1/exports/${record.id}/download?format=${format}`,
          download: `simsift-export-${record.id}.${format}`,
          'data-format': format,
        },
      },
      format.toUpperCase(),
    );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid exports' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Export', 'Operator', 'Numbers', 'Created', 'By', 'CSV sha256', 'JSON sha256', 'Download'].map((label) =>
            h('th', null, label),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        items.map((record) =>
          h(
            'tr',
            { data: { exportId: String(record.id) } },
            h('td', { class: 'num' }, `#${record.id}`),
            h('td', null, record.operator),
            h('td', { class: 'num' }, record.rowCount),
            h('td', null, dateTime(record.createdAt)),
            h('td', null, record.createdBy ?? '—'),
            h('td', null, short(record.csvSha256)),
            h('td', null, short(record.jsonSha256)),
            h('td', { class: 'downloads' }, download(record, 'csv'), download(record, 'json')),
          ),
        ),
      ),
    ),
  );
}

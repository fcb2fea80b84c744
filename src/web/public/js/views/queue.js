/* global document */
import { api, messageOf, query } from '../api.js';
import { confirmDialog, dismissDialog } from '../dialogs.js';
import { h, replace, timeAgo } from '../dom.js';
import { REASON_LABELS, STATUSES, reasonChip, scoreBar } from '../labels.js';
import { rememberQueue } from '../queue-memory.js';
import { failure, loading, navigate, refreshPendingCount, setTitle, toast } from '../shell.js';

/** @typedef {import('../types.js').ClusterSummary} ClusterSummary */
/** @typedef {import('../types.js').ClusterList} ClusterList */

const SORTS = /** @type {const} */ (['score', 'size', 'updated', 'id']);
const PAGE_SIZE = 50;

/** Cursors of the pages before the current one, for "Previous"; reset when the filters change. */
const pages = { filterKey: '', cursors: /** @type {string[]} */ ([]) };
/** The cluster last opened from the queue, selected again on return. */
let lastOpened = 0;
/** @type {import('../types.js').Operator[] | null} */
let operators = null;

/**
 * The filters of the queue as kept in the page address (defaults left out).
 * @param {URLSearchParams} params
 */
function filtersOf(params) {
  const sortParam = params.get('sort') ?? 'score';
  return {
    status: params.get('status') ?? 'pending',
    reason: params.get('reason') ?? '',
    operator: params.get('operator') ?? '',
    lsa: params.get('lsa') ?? '',
    min_size: params.get('min_size') ?? '',
    since: params.get('since') ?? '',
    sort: /** @type {(typeof SORTS)[number]} */ (SORTS.find((s) => s === sortParam) ?? 'score'),
    order: params.get('order') === 'asc' ? 'asc' : 'desc',
  };
}

/** @typedef {ReturnType<typeof filtersOf>} Filters */

/**
 * The API query for the filters (a date becomes the start of that day, local time).
 * @param {Filters} filters
 */
function apiFilters(filters) {
  /** @type {Record<string, string>} */
  const result = { flagged: 'true', sort: filters.sort, order: filters.order, limit: String(PAGE_SIZE) };
  if (filters.status !== 'any') result.status = filters.status;
  if (filters.reason) result.reason = filters.reason;
  if (filters.operator) result.operator = filters.operator;
  if (filters.lsa) result.lsa = filters.lsa;
  if (filters.min_size) result.min_size = filters.min_size;
  if (filters.since) {
    const start = new Date(`${filters.since}T00:00:00`);
    if (!Number.isNaN(start.getTime())) result.since = start.toISOString();
  }
  return result;
}

/**
 * The queue address for changed filters (back to the first page).
 * @param {Filters} filters
 * @param {Partial<Filters> & { cursor?: string }} change
 */
function queueHash(filters, change) {
  /** @type {Record<string, string>} */
  const next = { ...filters, ...change };
  const defaults = { status: 'pending', sort: 'score', order: 'desc' };
  /** @type {Record<string, string>} */
  const kept = {};
  for (const [key, value] of Object.entries(next)) {
    if (value && defaults[/** @type {keyof typeof defaults} */ (key)] !== value) kept[key] = value;
  }
  return `#/queue${query(kept)}`;
}

/**
 * The review queue: flagged clusters, filtered, sorted and paged; j/k to move, Enter to open, c/d to decide.
 * @param {import('../main.js').ViewContext} context
 * @returns {import('../main.js').View}
 */
export function queueView({ root, params }) {
  setTitle('Queue');
  const filters = filtersOf(params);
  const cursor = params.get('cursor') ?? '';
  const filterKey = JSON.stringify(filters);
  if (pages.filterKey !== filterKey || !cursor) {
    pages.filterKey = filterKey;
    pages.cursors = [];
  }

  /** @type {ClusterSummary[]} */
  let items = [];
  let selected = 0;
  /** @type {HTMLTableSectionElement | null} */
  let body = null;

  const heading = h(
    'div',
    { class: 'page-head' },
    h('h1', null, 'Review queue'),
    h('span', { class: 'muted', attrs: { id: 'queue-count' } }),
  );
  const filterBar = renderFilters(filters);
  const results = h('div', { class: 'results' }, loading());
  root.append(heading, filterBar, results);

  /** @param {number} index */
  function select(index) {
    if (!body || items.length === 0) return;
    selected = Math.max(0, Math.min(items.length - 1, index));
    for (const [i, row] of [...body.rows].entries()) {
      row.classList.toggle('selected', i === selected);
      row.setAttribute('aria-selected', String(i === selected));
    }
    body.rows[selected]?.scrollIntoView({ block: 'nearest' });
  }

  /** @param {ClusterSummary} cluster */
  function open(cluster) {
    lastOpened = cluster.id;
    navigate(`#/cluster/${cluster.id}`);
  }

  async function decided() {
    await load();
    void refreshPendingCount();
  }

  /** @param {'confirm' | 'dismiss'} action */
  function decide(action) {
    const cluster = items[selected];
    if (!cluster) return;
    const submit = (/** @type {import('../types.js').Decision} */ decision) =>
      api(`/v1/clusters/${cluster.id}/decisions`, { method: 'POST', body: decision });
    const dialog =
      action === 'confirm'
        ? confirmDialog({ clusterId: cluster.id, numbers: [], preselected: new Set(), submit })
        : dismissDialog({ clusterId: cluster.id, numbers: [], preselected: new Set(), submit });
    void dialog.then((done) => {
      if (done === null) return;
      toast(`Cluster #${cluster.id} ${action === 'confirm' ? 'confirmed' : 'dismissed'}`);
      lastOpened = items[selected + 1]?.id ?? items[selected - 1]?.id ?? 0;
      void decided();
    });
  }

  async function load() {
    const apiQuery = apiFilters(filters);
    /** @type {ClusterList} */
    let page;
    try {
      page = await api(`/v1/clusters${query({ ...apiQuery, cursor })}`);
    } catch (error) {
      replace(results, failure(`The queue could not be loaded: ${messageOf(error)}`));
      return;
    }
    items = page.items;
    rememberQueue({ filters: apiQuery, ids: items.map((item) => item.id), nextCursor: page.next_cursor });
    const first = pages.cursors.length * PAGE_SIZE + 1;
    const countText = document.getElementById('queue-count');
    if (countText) {
      countText.textContent =
        page.total === 0 ? 'no clusters' : `${first}–${first + items.length - 1} of ${page.total} clusters`;
    }
    if (items.length === 0) {
      replace(
        results,
        h(
          'div',
          { class: 'empty' },
          filters.status === 'pending'
            ? 'Nothing left to review with these filters.'
            : 'No flagged clusters match these filters.',
        ),
      );
      return;
    }
    body = h(
      'tbody',
      null,
      items.map((cluster, i) =>
        h(
          'tr',
          {
            data: { id: String(cluster.id) },
            attrs: { tabindex: -1 },
            on: {
              click: () => {
                selected = i;
                open(cluster);
              },
            },
          },
          h('td', { class: 'num' }, h('a', { attrs: { href: `#/cluster/${cluster.id}` } }, `#${cluster.id}`)),
          h('td', null, scoreBar(cluster.score)),
          h('td', { class: 'num' }, cluster.size),
          h('td', { class: 'num' }, cluster.evidence.identities ?? '—'),
          h('td', { class: 'chips' }, cluster.reasons.map(reasonChip)),
          h('td', null, (cluster.operators ?? []).join(', ') || '—'),
          h('td', null, (cluster.lsas ?? []).join(', ') || '—'),
          h('td', { class: 'num' }, cluster.pending === undefined ? '—' : cluster.pending),
          h('td', null, timeAgo(cluster.updatedAt)),
        ),
      ),
    );
    const table = h(
      'table',
      { class: 'grid queue-table', attrs: { 'aria-label': 'Flagged clusters' } },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          sortHeader('Cluster', 'id', filters, 'num'),
          sortHeader('Score', 'score', filters),
          sortHeader('Size', 'size', filters, 'num'),
          h(
            'th',
            { class: 'num', attrs: { title: 'Different identities (name + document) behind the face' } },
            'Identities',
          ),
          h('th', null, 'Reasons'),
          h('th', null, 'Operators'),
          h('th', null, 'LSAs'),
          h('th', { class: 'num', attrs: { title: 'Numbers pending review' } }, 'Pending'),
          sortHeader('Updated', 'updated', filters),
        ),
      ),
      body,
    );
    const previous = pages.cursors.at(-1);
    const pager = h(
      'div',
      { class: 'pager' },
      h(
        'button',
        {
          class: 'btn ghost small',
          attrs: { type: 'button', disabled: pages.cursors.length === 0 },
          on: {
            click: () => {
              pages.cursors.pop();
              navigate(queueHash(filters, { cursor: previous ?? '' }));
            },
          },
        },
        '← Previous',
      ),
      h(
        'button',
        {
          class: 'btn ghost small',
          attrs: { type: 'button', disabled: !page.next_cursor },
          on: {
            click: () => {
              if (!page.next_cursor) return;
              pages.cursors.push(cursor);
              navigate(queueHash(filters, { cursor: page.next_cursor }));
            },
          },
        },
        'Next →',
      ),
    );
    replace(results, h('div', { class: 'table-wrap' }, table), pager);
    const back = items.findIndex((item) => item.id === lastOpened);
    select(back >= 0 ? back : Math.min(selected, items.length - 1));
  }

  void load();
  void refreshPendingCount();

  return {
    shortcuts: [
      ['j ↓', 'next cluster'],
      ['k ↑', 'previous cluster'],
      ['Enter', 'open the cluster'],
      ['c', 'confirm the cluster as fraud'],
      ['d', 'dismiss the cluster (asks for a reason)'],
      ['/', 'filters'],
    ],
    onKey(event) {
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          select(selected + 1);
          return true;
        case 'k':
        case 'ArrowUp':
          select(selected - 1);
          return true;
        case 'Enter': {
          const cluster = items[selected];
          if (cluster) open(cluster);
          return Boolean(cluster);
        }
        case 'c':
          decide('confirm');
          return true;
        case 'd':
          decide('dismiss');
          return true;
        case '/': {
          const first = filterBar.querySelector('select, input');
          if (first instanceof HTMLElement) first.focus();
          return true;
        }
        default:
          return false;
      }
    },
  };
}

/**
 * A column header that sorts by `key` (and flips the order when it already does).
 * @param {string} label
 * @param {(typeof SORTS)[number]} key
 * @param {Filters} filters
 * @param {string} [className]
 */
function sortHeader(label, key, filters, className = '') {
  const active = filters.sort === key;
  const order = active && filters.order === 'desc' ? 'asc' : 'desc';
  return h(
    'th',
    {
      class: `${className} sortable${active ? ' active' : ''}`,
      attrs: { 'aria-sort': active ? (filters.order === 'asc' ? 'ascending' : 'descending') : 'none' },
    },
    h(
      'a',
      { attrs: { href: queueHash(filters, { sort: key, order }), title: `Sort by ${label.toLowerCase()}` } },
      label,
      h(
        'span',
        { class: 'sort-arrow', attrs: { 'aria-hidden': 'true' } },
        active ? (filters.order === 'asc' ? '▲' : '▼') : '↕',
      ),
    ),
  );
}

/**
 * The filter bar; each change goes into the address (so Back and reload keep it).
 * @param {Filters} filters
 */
function renderFilters(filters) {
  /**
   * @param {keyof Filters} key
   * @param {string} value
   */
  const change = (key, value) => navigate(queueHash(filters, { [key]: value }));

  /**
   * @param {string} label
   * @param {keyof Filters} key
   * @param {[string, string][]} options
   */
  const select = (label, key, options) =>
    h(
      'label',
      { class: 'filter' },
      h('span', null, label),
      h(
        'select',
        {
          attrs: { name: key },
          on: { change: (event) => change(key, /** @type {HTMLSelectElement} */ (event.target).value) },
        },
        options.map(([value, text]) => h('option', { attrs: { value, selected: filters[key] === value } }, text)),
      ),
    );

  /**
   * @param {string} label
   * @param {keyof Filters} key
   * @param {Record<string, string | number | boolean>} attrs
   */
  const input = (label, key, attrs) =>
    h(
      'label',
      { class: 'filter' },
      h('span', null, label),
      h('input', {
        attrs: { name: key, value: filters[key], ...attrs },
        on: {
          change: (event) => {
            const target = /** @type {HTMLInputElement} */ (event.target);
            if (!target.checkValidity()) {
              target.reportValidity();
              return;
            }
            change(key, key === 'lsa' ? target.value.trim().toUpperCase() : target.value.trim());
          },
        },
      }),
    );

  const operatorSlot = h('label', { class: 'filter' }, h('span', null, 'Operator'));
  const fillOperators = () => {
    if (operators && operators.length > 0) {
      operatorSlot.append(
        h(
          'select',
          {
            attrs: { name: 'operator' },
            on: { change: (event) => change('operator', /** @type {HTMLSelectElement} */ (event.target).value) },
          },
          h('option', { attrs: { value: '' } }, 'All'),
          operators.map((operator) =>
            h(
              'option',
              { attrs: { value: operator.code, selected: filters.operator === operator.code } },
              operator.code,
            ),
          ),
        ),
      );
    } else {
      operatorSlot.replaceWith(
        input('Operator', 'operator', { size: 8, pattern: '[A-Za-z0-9_\\-]{1,32}', placeholder: 'code' }),
      );
    }
  };
  if (operators) fillOperators();
  else {
    api('/v1/operators').then(
      (/** @type {{ items: import('../types.js').Operator[] }} */ list) => {
        operators = list.items;
        fillOperators();
      },
      () => {
        operators = [];
        fillOperators();
      },
    );
  }

  const anyFilter =
    filters.reason ||
    filters.operator ||
    filters.lsa ||
    filters.min_size ||
    filters.since ||
    filters.status !== 'pending';
  return h(
    'div',
    { class: 'filters', attrs: { role: 'search' } },
    select('Status', 'status', [...STATUSES.map((s) => /** @type {[string, string]} */ ([s, s])), ['any', 'any']]),
    select('Reason', 'reason', [
      ['', 'All'],
      ...Object.entries(REASON_LABELS).filter(([key]) => key !== 'NO_USABLE_FACE'),
    ]),
    operatorSlot,
    input('LSA', 'lsa', { size: 4, pattern: '[A-Za-z]{2,3}', placeholder: 'DL' }),
    input('Min size', 'min_size', { type: 'number', min: 1, step: 1, class: 'narrow' }),
    input('Since', 'since', { type: 'date' }),
    select('Sort', 'sort', [
      ['score', 'Score'],
      ['size', 'Size'],
      ['updated', 'Updated'],
      ['id', 'Cluster id'],
    ]),
    select('Order', 'order', [
      ['desc', 'High → low'],
      ['asc', 'Low → high'],
    ]),
    anyFilter
      ? h(
          'a',
          {
            class: 'reset',
            attrs: { href: queueHash(filtersOf(new URLSearchParams()), { sort: filters.sort, order: filters.order }) },
          },
          'Reset',
        )
      : null,
  );
}

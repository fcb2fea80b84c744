/* global setTimeout */
import { ApiError, api, messageOf } from '../api.js';
import { confirmDialog, dismissDialog, keepDialog, mergeDialog, photoDialog, splitDialog } from '../dialogs.js';
import { dateTime, field, h, replace, timeAgo } from '../dom.js';
import { REASON_LABELS, reasonChip, scoreBar, statusChip } from '../labels.js';
import { neighbour, positionOf, recallQueue } from '../queue-memory.js';
import { failure, loading, navigate, refreshPendingCount, setTitle, toast } from '../shell.js';

/** @typedef {import('../types.js').ClusterDetail} ClusterDetail */
/** @typedef {import('../types.js').ClusterMember} ClusterMember */
/** @typedef {import('../types.js').Decision} Decision */

/** Polling after a split or merge: the cluster worker recomputes within seconds. */
const RECOMPUTE_POLL_MS = 1000;
const RECOMPUTE_GIVE_UP_MS = 30_000;

/** Names of a score's parts, as the analyst reads them. @type {Record<string, string>} */
const PART_LABELS = {
  face: 'Face evidence',
  conflict: 'Identity conflict',
  context: 'Context',
  connections: 'Connections',
  document: 'Different faces',
  photo: 'Same picture',
};

/**
 * How a reason's score is built: each part's value and what it means, in words.
 * @param {import('../types.js').Explanation} explanation
 */
function scoreParts(explanation) {
  return h(
    'div',
    { class: 'score-parts' },
    h('span', { class: 'muted' }, 'score ', h('strong', null, (explanation.score ?? 0).toFixed(2)), ' from:'),
    h(
      'ul',
      null,
      (explanation.parts ?? []).map((part) =>
        h(
          'li',
          { attrs: { 'data-part': part.part } },
          h('strong', null, `${PART_LABELS[part.part] ?? part.part} ${part.value.toFixed(2)}`),
          ' — ',
          part.text,
        ),
      ),
    ),
  );
}

/**
 * One flagged cluster: faces and records side by side, distance and name evidence, and the decisions.
 * @param {import('../main.js').ViewContext} context
 * @returns {import('../main.js').View}
 */
export function clusterView({ root, path }) {
  const id = Number(path[0]);
  setTitle(`Cluster #${path[0] ?? ''}`);
  if (!Number.isInteger(id) || id < 1) {
    root.append(failure('No such cluster.'));
    return {};
  }
  /** @type {ClusterDetail | null} */
  let detail = null;
  /** Face ids ticked on the cards; kept across re-renders. */
  const selected = new Set(/** @type {number[]} */ ([]));
  let recomputing = false;
  root.append(loading());

  async function load() {
    try {
      /** @type {ClusterDetail} */
      const fresh = await api(`/v1/clusters/${id}`);
      render(fresh);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        replace(root, gone());
        return;
      }
      replace(root, failure(`Cluster #${id} could not be loaded: ${messageOf(error)}`));
    }
  }

  function gone() {
    return h(
      'div',
      { class: 'empty' },
      h('p', null, `Cluster #${id} no longer exists: it was split or merged and its faces were renumbered.`),
      h('a', { class: 'btn primary', attrs: { href: '#/queue' } }, 'Back to the queue'),
    );
  }

  /** The numbers of the cluster with their review status, for the decision dialogs. */
  function numbers() {
    if (!detail) return [];
    const names = new Map(detail.members.map((member) => [member.msisdn, member.name]));
    if (detail.candidates && detail.candidates.length > 0) {
      return detail.candidates.map((candidate) => ({
        msisdn: candidate.msisdn,
        operator: candidate.operator,
        status: candidate.status,
        name: names.get(candidate.msisdn) ?? '',
      }));
    }
    return detail.members.map((member) => ({
      msisdn: member.msisdn,
      operator: member.operator,
      status: 'pending',
      name: member.name,
    }));
  }

  function selectedNumbers() {
    if (!detail) return new Set(/** @type {string[]} */ ([]));
    return new Set(detail.members.filter((member) => selected.has(member.faceId)).map((member) => member.msisdn));
  }

  /** @param {Decision} decision */
  async function send(decision) {
    /** @type {{ cluster?: ClusterDetail, status?: string }} */
    const result = await api(`/v1/clusters/${id}/decisions`, { method: 'POST', body: decision });
    return result;
  }

  /**
   * @param {'confirm' | 'dismiss' | 'keep' | 'split' | 'merge'} action
   */
  function act(action) {
    if (!detail || recomputing) return;
    const common = { clusterId: id, numbers: numbers(), preselected: selectedNumbers(), submit: send };
    const dialogs = {
      confirm: () => confirmDialog(common),
      dismiss: () => dismissDialog(common),
      keep: () =>
        keepDialog({
          ...common,
          simCap: typeof detail?.evidence.simCap === 'number' ? detail.evidence.simCap : undefined,
        }),
      split: () => splitDialog({ clusterId: id, members: detail?.members ?? [], preselected: selected, submit: send }),
      merge: () => mergeDialog({ clusterId: id, submit: send }),
    };
    void dialogs[action]().then((result) => {
      if (!result) return;
      void refreshPendingCount();
      if (result.cluster) {
        toast(
          action === 'confirm'
            ? 'Confirmed as fraud. n: next cluster'
            : action === 'dismiss'
              ? 'Dismissed. n: next cluster'
              : 'Kept numbers saved; the rest confirmed.',
        );
        render(result.cluster);
        return;
      }
      toast(
        action === 'split'
          ? 'Split sent; the cluster is being recomputed.'
          : 'Merge sent; the cluster is being recomputed.',
        'info',
      );
      void pollRecompute();
    });
  }

  async function pollRecompute() {
    if (!detail) return;
    recomputing = true;
    const before = detail.updatedAt;
    const banner = h('div', { class: 'banner info' }, h('span', { class: 'spinner' }), 'Recomputing the cluster…');
    root.prepend(banner);
    const deadline = Date.now() + RECOMPUTE_GIVE_UP_MS;
    while (Date.now() < deadline && root.isConnected) {
      await new Promise((resolve) => setTimeout(resolve, RECOMPUTE_POLL_MS));
      try {
        /** @type {ClusterDetail} */
        const fresh = await api(`/v1/clusters/${id}`);
        if (fresh.updatedAt !== before) {
          recomputing = false;
          selected.clear();
          render(fresh);
          toast(`Cluster #${id} recomputed: ${fresh.size} faces.`);
          return;
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          recomputing = false;
          toast(`Cluster #${id} was renumbered; back to the queue.`, 'info');
          navigate('#/queue');
          return;
        }
      }
    }
    recomputing = false;
    banner.replaceChildren('The cluster has not changed yet. Reload the page in a moment.');
  }

  /** @param {1 | -1} step */
  async function go(step) {
    try {
      const next = await neighbour(id, step);
      if (next === null) toast(step === 1 ? 'End of the queue.' : 'Start of the queue.', 'info');
      else navigate(`#/cluster/${next}`);
    } catch (error) {
      toast(messageOf(error), 'error');
    }
  }

  /** @param {number} faceId */
  function toggle(faceId) {
    if (selected.has(faceId)) selected.delete(faceId);
    else selected.add(faceId);
    for (const card of root.querySelectorAll('.member')) {
      if (!(card instanceof HTMLElement)) continue;
      const on = selected.has(Number(card.dataset.faceId));
      card.classList.toggle('picked', on);
      const box = card.querySelector('input[type="checkbox"]');
      if (box instanceof HTMLInputElement) box.checked = on;
    }
    const count = root.querySelector('#selection-count');
    if (count) count.textContent = selected.size > 0 ? `${selected.size} selected` : '';
  }

  /** @param {ClusterDetail} fresh */
  function render(fresh) {
    detail = fresh;
    for (const faceId of [...selected])
      if (!fresh.members.some((member) => member.faceId === faceId)) selected.delete(faceId);
    const candidatesByNumber = new Map((fresh.candidates ?? []).map((candidate) => [candidate.msisdn, candidate]));
    const position = positionOf(id);
    const queueSize = recallQueue()?.ids.length;

    const header = h(
      'div',
      { class: 'cluster-head' },
      h(
        'div',
        { class: 'cluster-title' },
        h('a', { class: 'back', attrs: { href: '#/queue', title: 'Back to the queue (u)' } }, '← Queue'),
        h('h1', null, `Cluster #${fresh.id}`),
        fresh.flagged ? h('span', { class: 'chip flag' }, 'flagged') : h('span', { class: 'chip' }, 'not flagged'),
        h('span', { class: 'head-stat' }, 'score ', scoreBar(fresh.score)),
        h('span', { class: 'head-stat' }, h('strong', null, fresh.size), ' faces'),
        fresh.evidence.identities !== undefined
          ? h('span', { class: 'head-stat' }, h('strong', null, fresh.evidence.identities), ' identities')
          : null,
        fresh.evidence.simCap !== undefined
          ? h('span', { class: 'head-stat' }, 'SIM cap ', h('strong', null, fresh.evidence.simCap))
          : null,
        h('span', { class: 'head-stat muted' }, 'updated ', timeAgo(fresh.updatedAt)),
      ),
      h(
        'div',
        { class: 'queue-nav' },
        position !== null
          ? h('span', { class: 'muted' }, `${position} of ${queueSize ?? '?'}${recallQueue()?.nextCursor ? '+' : ''}`)
          : null,
        h(
          'button',
          {
            class: 'btn ghost small',
            attrs: { type: 'button', title: 'Previous cluster (p)' },
            on: { click: () => void go(-1) },
          },
          '‹ Prev',
        ),
        h(
          'button',
          {
            class: 'btn ghost small',
            attrs: { type: 'button', title: 'Next cluster (n)' },
            on: { click: () => void go(1) },
          },
          'Next ›',
        ),
      ),
    );

    /**
     * @param {string} label
     * @param {'confirm' | 'dismiss' | 'keep' | 'split' | 'merge'} action
     * @param {string} key
     * @param {string} tone
     * @param {string} title
     */
    const actionButton = (label, action, key, tone, title) =>
      h(
        'button',
        {
          class: `btn ${tone}`,
          attrs: { type: 'button', title: `${title} (${key})`, 'data-action': action },
          on: { click: () => act(action) },
        },
        label,
        h('kbd', null, key),
      );
    const actions = h(
      'div',
      { class: 'action-bar' },
      actionButton('Confirm fraud', 'confirm', 'c', 'danger', 'Confirm all or the selected numbers as fraud'),
      actionButton('Dismiss', 'dismiss', 'd', 'neutral', 'Dismiss with a reason'),
      actionButton('Keep…', 'keep', 'k', 'ghost', 'Pick the numbers the subscriber keeps, up to the cap'),
      actionButton('Split…', 'split', 's', 'ghost', 'Select faces that are another person'),
      actionButton('Merge…', 'merge', 'm', 'ghost', 'Merge with another cluster'),
      h(
        'span',
        { class: 'muted', attrs: { id: 'selection-count' } },
        selected.size > 0 ? `${selected.size} selected` : '',
      ),
      h('span', { class: 'spacer' }),
      h('span', { class: 'muted hint' }, 'Tick faces (1–9) to act on their numbers only'),
    );

    const explanations = fresh.explanations ?? fresh.reasons.map((reason) => ({ reason, text: '' }));
    // A subscriber is not a face cluster: the same person's other records may sit in other clusters.
    const elsewhere = (fresh.evidence.persons ?? []).filter((person) => person.clusters.length > 1);
    const why = h(
      'section',
      { class: 'panel why' },
      h('h2', null, 'Why it was flagged'),
      elsewhere.map((person) =>
        h(
          'p',
          { class: 'person-clusters' },
          `One subscriber here holds ${person.connections} connections over ${person.recordIds.length} records, also in `,
          person.clusters
            .filter((clusterId) => clusterId !== fresh.id)
            .flatMap((clusterId, i) => [
              i > 0 ? ', ' : '',
              h('a', { attrs: { href: `#/cluster/${clusterId}` } }, `cluster #${clusterId}`),
            ]),
          '.',
        ),
      ),
      explanations.length === 0
        ? h('p', { class: 'muted' }, 'No rule flagged this cluster.')
        : h(
            'ul',
            { class: 'reasons' },
            explanations.map((explanation) =>
              h(
                'li',
                null,
                reasonChip(explanation.reason),
                h('span', null, explanation.text || REASON_LABELS[explanation.reason] || ''),
                explanation.parts ? scoreParts(explanation) : null,
              ),
            ),
          ),
    );

    const members = h(
      'section',
      { class: 'panel' },
      h('h2', null, 'Faces and records ', h('span', { class: 'muted' }, `(${fresh.members.length})`)),
      h(
        'div',
        { class: 'members' },
        fresh.members.map((member, i) =>
          memberCard(member, i, candidatesByNumber.get(member.msisdn), selected.has(member.faceId), toggle),
        ),
      ),
    );

    const labels = fresh.members.map((member, i) => ({ index: i + 1, name: member.name }));
    const threshold = fresh.threshold;
    const matrices = h(
      'div',
      { class: 'matrices' },
      h(
        'section',
        { class: 'panel' },
        h('h2', null, 'Face distance'),
        fresh.distances && threshold !== undefined
          ? [
              h(
                'p',
                { class: 'legend' },
                h('span', { class: 'swatch same' }),
                ` below ${threshold.toFixed(2)}: same person `,
                h('span', { class: 'swatch different' }),
                ' above: different',
              ),
              matrix(
                labels,
                fresh.distances,
                (value) => distanceColour(value, threshold),
                (a, b, value) =>
                  `${a} ↔ ${b}: distance ${value.toFixed(3)} (${value <= threshold ? 'same person' : 'different'} at threshold ${threshold.toFixed(2)})`,
              ),
            ]
          : h('p', { class: 'muted' }, 'No distances for this cluster.'),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h2', null, 'Name match'),
        fresh.nameSimilarity
          ? [
              h(
                'p',
                { class: 'legend' },
                'Similarity of the names, 0 (unrelated) to 1 (identical). One face under unrelated names is the fraud pattern.',
              ),
              matrix(
                labels,
                fresh.nameSimilarity,
                similarityColour,
                (a, b, value) => `${a} ↔ ${b}: name similarity ${value.toFixed(2)}`,
              ),
            ]
          : h('p', { class: 'muted' }, 'No name evidence for this cluster.'),
      ),
    );

    const candidates = h(
      'section',
      { class: 'panel' },
      h('h2', null, 'Numbers under review'),
      fresh.candidates && fresh.candidates.length > 0
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'grid candidates' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Number', 'Operator', 'Status', 'Reasons', 'Score', 'Decision', 'Source', 'Decided', 'By'].map(
                    (label) => h('th', null, label),
                  ),
                ),
              ),
              h(
                'tbody',
                null,
                fresh.candidates.map((candidate) =>
                  h(
                    'tr',
                    { data: { msisdn: candidate.msisdn } },
                    h('td', { class: 'mono' }, candidate.msisdn),
                    h('td', null, candidate.operator),
                    h('td', null, statusChip(candidate.status)),
                    h('td', { class: 'chips' }, candidate.reasons.map(reasonChip)),
                    h('td', null, scoreBar(candidate.score)),
                    h('td', null, candidate.decisionReason ?? '—'),
                    h('td', null, candidate.source ?? '—'),
                    h('td', null, dateTime(candidate.decidedAt)),
                    h('td', null, candidate.decidedBy ?? '—'),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No block candidates for this cluster.'),
    );

    replace(root, header, actions, why, members, matrices, candidates);
  }

  void load();

  return {
    shortcuts: [
      ['c', 'confirm as fraud'],
      ['d', 'dismiss (asks for a reason)'],
      ['k', 'keep numbers up to the cap'],
      ['s', 'split off faces'],
      ['m', 'merge with another cluster'],
      ['1 … 9', 'tick face 1 … 9'],
      ['n', 'next cluster in the queue'],
      ['p', 'previous cluster in the queue'],
      ['u', 'back to the queue'],
    ],
    onKey(event) {
      /** @type {Record<string, 'confirm' | 'dismiss' | 'keep' | 'split' | 'merge'>} */
      const actions = { c: 'confirm', d: 'dismiss', k: 'keep', s: 'split', m: 'merge' };
      const action = actions[event.key];
      if (action) {
        act(action);
        return true;
      }
      if (event.key === 'n') {
        void go(1);
        return true;
      }
      if (event.key === 'p') {
        void go(-1);
        return true;
      }
      if (event.key === 'u' || event.key === 'Escape') {
        navigate('#/queue');
        return true;
      }
      if (/^[1-9]$/.test(event.key) && detail) {
        const member = detail.members[Number(event.key) - 1];
        if (member) toggle(member.faceId);
        return Boolean(member);
      }
      return false;
    },
  };
}

/**
 * One face with its record. The original photo loads only on click.
 * @param {ClusterMember} member
 * @param {number} index
 * @param {import('../types.js').BlockCandidate | undefined} candidate
 * @param {boolean} picked
 * @param {(faceId: number) => void} toggle
 */
function memberCard(member, index, candidate, picked, toggle) {
  const photoUrl = member.photoUrl ?? `/v1/faces/${member.faceId}/photo`;
  const caption = `${index + 1}. ${member.name} · ${member.msisdn}`;
  const thumbnail = h('img', {
    class: 'thumb',
    attrs: {
      src: member.thumbnailUrl,
      alt: `Face ${index + 1}: ${member.name}`,
      width: 128,
      height: 128,
      loading: 'lazy',
      decoding: 'async',
    },
  });
  thumbnail.addEventListener('error', () => thumbnail.classList.add('broken'));
  return h(
    'article',
    { class: `member${picked ? ' picked' : ''}`, data: { faceId: String(member.faceId) } },
    h(
      'div',
      { class: 'member-top' },
      h(
        'label',
        { class: 'pick', attrs: { title: `Select face ${index + 1} (${index < 9 ? index + 1 : ''})` } },
        h('input', { attrs: { type: 'checkbox', checked: picked }, on: { change: () => toggle(member.faceId) } }),
        h('span', { class: 'member-no' }, index + 1),
      ),
      candidate ? statusChip(candidate.status) : null,
    ),
    h(
      'button',
      {
        class: 'thumb-button',
        attrs: { type: 'button', title: 'Show the original photo' },
        on: { click: () => void photoDialog(photoUrl, caption) },
      },
      thumbnail,
    ),
    h('div', { class: 'member-name', attrs: { title: member.name } }, member.name),
    member.fatherName
      ? h(
          'div',
          { class: 'member-father muted', attrs: { title: `Father: ${member.fatherName}` } },
          `s/o ${member.fatherName}`,
        )
      : null,
    h(
      'dl',
      { class: 'facts' },
      field('Number', h('span', { class: 'mono' }, member.msisdn)),
      field('ID', h('span', { class: 'mono', attrs: { title: member.idType } }, member.idMasked)),
      field('ID type', member.idType),
      field('DOB', member.dob ?? '—'),
      field('Operator', `${member.operator} · ${member.lsa}`),
      field(
        'PoS agent',
        h(
          'a',
          {
            attrs: { href: `#/agents/${encodeURIComponent(member.operator)}/${encodeURIComponent(member.posAgentId)}` },
          },
          member.posAgentId,
        ),
      ),
      field('Activated', member.activationDate),
      field('Mean dist.', member.meanDistance === null ? '—' : member.meanDistance.toFixed(3)),
    ),
  );
}

/**
 * A square matrix as a table of coloured cells (row and column headers are the face numbers).
 * @param {{ index: number, name: string }[]} labels
 * @param {number[][]} values
 * @param {(value: number) => { background: string, dark: boolean }} colour
 * @param {(a: string, b: string, value: number) => string} describe
 */
function matrix(labels, values, colour, describe) {
  const name = (/** @type {number} */ i) => {
    const label = labels[i];
    return label ? `${label.index}. ${label.name}` : String(i + 1);
  };
  return h(
    'div',
    { class: 'matrix-wrap' },
    h(
      'table',
      { class: 'matrix' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th'),
          labels.map((label) => h('th', { attrs: { title: label.name, scope: 'col' } }, label.index)),
        ),
      ),
      h(
        'tbody',
        null,
        values.map((row, i) =>
          h(
            'tr',
            null,
            h(
              'th',
              { class: 'row-head', attrs: { scope: 'row', title: name(i) } },
              h(
                'span',
                { class: 'row-label' },
                h('span', { class: 'row-name' }, labels[i]?.name ?? ''),
                h('span', { class: 'row-no' }, i + 1),
              ),
            ),
            row.map((value, j) => {
              if (i === j) return h('td', { class: 'diag' }, '·');
              const { background, dark } = colour(value);
              const cell = h(
                'td',
                { class: dark ? 'dark' : '', attrs: { title: describe(name(i), name(j), value) } },
                value.toFixed(2),
              );
              cell.style.backgroundColor = background;
              return cell;
            }),
          ),
        ),
      ),
    ),
  );
}

/**
 * Red for pairs the model calls the same person (deeper the closer), neutral grey-blue above the threshold.
 * @param {number} distance
 * @param {number} threshold
 */
function distanceColour(distance, threshold) {
  if (distance <= threshold) {
    const closeness = 1 - Math.max(0, distance) / threshold;
    const lightness = 88 - 42 * closeness;
    return { background: `hsl(356 78% ${lightness}%)`, dark: lightness < 60 };
  }
  const beyond = Math.min(1, (distance - threshold) / threshold);
  return { background: `hsl(210 30% ${94 - 10 * beyond}%)`, dark: false };
}

/**
 * Blue, deeper for more similar names.
 * @param {number} similarity
 */
function similarityColour(similarity) {
  const value = Math.max(0, Math.min(1, similarity));
  const lightness = 96 - 50 * value;
  return { background: `hsl(217 70% ${lightness}%)`, dark: lightness < 60 };
}

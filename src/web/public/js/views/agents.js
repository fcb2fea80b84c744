import { api, messageOf, query } from '../api.js';
import { dataTable, h, replace } from '../dom.js';
import { reasonChip, statusChip } from '../labels.js';
import { failure, loading, navigate, setTitle } from '../shell.js';

/**
 * Point-of-sale agents ranked by the share of their enrolments in flagged clusters; one agent's enrolments.
 * @param {import('../main.js').ViewContext} context
 * @returns {import('../main.js').View}
 */
export function agentsView({ root, path }) {
  const [operator, posAgentId] = path;
  if (operator && posAgentId) return enrolmentsView(root, operator, posAgentId);
  setTitle('Agents');
  const results = h('div', { class: 'results' }, loading());
  root.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'PoS agents by risk'),
      h('span', { class: 'muted' }, 'share of enrolments in flagged clusters'),
    ),
    results,
  );
  /** @type {import('../types.js').Agent[]} */
  let agents = [];
  let selected = 0;

  /** @param {number} index */
  function select(index) {
    const rows = results.querySelectorAll('tbody tr');
    if (rows.length === 0) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle('selected', i === selected));
    rows[selected]?.scrollIntoView({ block: 'nearest' });
  }

  /** @param {import('../types.js').Agent} agent */
  const hrefOf = (agent) => `#/agents/${encodeURIComponent(agent.operator)}/${encodeURIComponent(agent.posAgentId)}`;

  api(`/v1/agents${query({ sort: 'risk', limit: 200 })}`).then(
    (/** @type {{ items: import('../types.js').Agent[] }} */ list) => {
      agents = list.items;
      if (agents.length === 0) {
        replace(results, h('div', { class: 'empty' }, 'No enrolments yet.'));
        return;
      }
      replace(
        results,
        dataTable(
          'grid agents',
          [
            h('th', { class: 'num' }, '#'),
            'Operator',
            'PoS agent',
            h('th', { class: 'num' }, 'Enrolments'),
            h('th', { class: 'num' }, 'In flagged clusters'),
            'Risk',
          ],
          agents.map((agent, i) =>
            h(
              'tr',
              { on: { click: () => navigate(hrefOf(agent)) } },
              h('td', { class: 'num muted' }, i + 1),
              h('td', null, agent.operator),
              h('td', null, h('a', { attrs: { href: hrefOf(agent) } }, agent.posAgentId)),
              h('td', { class: 'num' }, agent.enrolments),
              h('td', { class: 'num' }, agent.flaggedEnrolments),
              h('td', null, riskBar(agent.risk)),
            ),
          ),
        ),
      );
      select(0);
    },
    (/** @type {unknown} */ error) => replace(results, failure(`The agents could not be loaded: ${messageOf(error)}`)),
  );

  return {
    shortcuts: [
      ['j ↓', 'next agent'],
      ['k ↑', 'previous agent'],
      ['Enter', "the agent's enrolments"],
    ],
    onKey(event) {
      if (event.key === 'j' || event.key === 'ArrowDown') select(selected + 1);
      else if (event.key === 'k' || event.key === 'ArrowUp') select(selected - 1);
      else if (event.key === 'Enter') {
        const agent = agents[selected];
        if (!agent) return false;
        navigate(hrefOf(agent));
      } else return false;
      return true;
    },
  };
}

/** @param {number} risk 0..1 */
function riskBar(risk) {
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, risk)) * 100)}%`;
  if (risk >= 0.5) fill.classList.add('high');
  else if (risk >= 0.2) fill.classList.add('mid');
  return h(
    'span',
    { class: 'score' },
    h('span', { class: 'bar wide' }, fill),
    h('span', { class: 'num' }, `${(risk * 100).toFixed(1)}%`),
  );
}

/**
 * @param {HTMLElement} root
 * @param {string} operator
 * @param {string} posAgentId
 * @returns {import('../main.js').View}
 */
function enrolmentsView(root, operator, posAgentId) {
  setTitle(`Agent ${posAgentId}`);
  const results = h('div', { class: 'results' }, loading());
  root.append(
    h(
      'div',
      { class: 'page-head' },
      h('a', { class: 'back', attrs: { href: '#/agents' } }, '← Agents'),
      h('h1', null, `PoS agent ${posAgentId}`),
      h('span', { class: 'muted' }, operator),
    ),
    results,
  );
  api(`/v1/agents/${encodeURIComponent(operator)}/${encodeURIComponent(posAgentId)}/enrolments`).then(
    (/** @type {{ items: import('../types.js').Enrolment[] }} */ list) => {
      if (list.items.length === 0) {
        replace(results, h('div', { class: 'empty' }, 'No flagged enrolments for this agent.'));
        return;
      }
      replace(
        results,
        dataTable(
          'grid',
          ['Record', 'Number', 'Name', 'Cluster', 'Reasons', 'Status'],
          list.items.map((enrolment) =>
            h(
              'tr',
              null,
              h('td', { class: 'num' }, enrolment.recordId),
              h('td', { class: 'mono' }, enrolment.msisdn),
              h('td', null, enrolment.name),
              h(
                'td',
                null,
                enrolment.clusterId === null
                  ? '—'
                  : h('a', { attrs: { href: `#/cluster/${enrolment.clusterId}` } }, `#${enrolment.clusterId}`),
              ),
              h('td', { class: 'chips' }, enrolment.reasons.map(reasonChip)),
              h('td', null, statusChip(enrolment.status)),
            ),
          ),
        ),
      );
    },
    (/** @type {unknown} */ error) =>
      replace(results, failure(`The enrolments could not be loaded: ${messageOf(error)}`)),
  );
  return {
    shortcuts: [['u', 'back to agents']],
    onKey: (event) => (event.key === 'u' ? (navigate('#/agents'), true) : false),
  };
}

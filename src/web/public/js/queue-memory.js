/* global sessionStorage */
// The queue the analyst came from, kept for the cluster page's next/previous (n/p) keys.
import { api, query } from './api.js';

const KEY = 'simsift.queue';

/**
 * @typedef {object} QueueMemory
 * @property {Record<string, string>} filters the list query without cursor
 * @property {number[]} ids clusters in queue order, as far as loaded
 * @property {string | null} nextCursor where loading more continues
 */

/** @param {QueueMemory} memory */
export function rememberQueue(memory) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(memory));
  } catch {
    // Private windows may refuse storage; n/p then just fall back to the queue.
  }
}

/** @returns {QueueMemory | null} */
export function recallQueue() {
  try {
    const text = sessionStorage.getItem(KEY);
    return text ? /** @type {QueueMemory} */ (JSON.parse(text)) : null;
  } catch {
    return null;
  }
}

/**
 * The cluster after (+1) or before (-1) `id` in the remembered queue, loading the next page when needed.
 * @param {number} id
 * @param {1 | -1} step
 * @returns {Promise<number | null>}
 */
export async function neighbour(id, step) {
  const memory = recallQueue();
  if (!memory) return null;
  const index = memory.ids.indexOf(id);
  if (index < 0) return step === 1 ? (memory.ids[0] ?? null) : null;
  const wanted = index + step;
  if (wanted < 0) return null;
  if (wanted < memory.ids.length) return memory.ids[wanted] ?? null;
  if (!memory.nextCursor) return null;
  /** @type {import('./types.js').ClusterList} */
  const page = await api(`/v1/clusters${query({ ...memory.filters, cursor: memory.nextCursor })}`);
  memory.ids.push(...page.items.map((item) => item.id));
  memory.nextCursor = page.next_cursor;
  rememberQueue(memory);
  return memory.ids[wanted] ?? null;
}

/**
 * Where `id` sits in the remembered queue, for "3 of 120".
 * @param {number} id
 */
export function positionOf(id) {
  const memory = recallQueue();
  if (!memory) return null;
  const index = memory.ids.indexOf(id);
  return index < 0 ? null : index + 1;
}

/* global document */
// Building DOM nodes from data. Every piece of data becomes a text node or an attribute value: nothing here (or
// anywhere in the UI) parses HTML, so a subscriber named "<script>" is shown, never run.

/** @typedef {Node | string | number | null | undefined | false | ChildList} Child */
/** @typedef {Array<Child>} ChildList */

/**
 * @typedef {object} Props
 * @property {string} [class]
 * @property {Record<string, string | number | boolean | null | undefined>} [attrs] attributes; false/null/undefined are left out
 * @property {Record<string, string>} [data] data-* attributes
 * @property {{ [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void }} [on]
 */

/**
 * Creates an element with attributes, listeners and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  if (props?.class) element.className = props.class;
  for (const [name, value] of Object.entries(props?.attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [name, value] of Object.entries(props?.data ?? {})) element.dataset[name] = value;
  for (const [type, listener] of Object.entries(props?.on ?? {})) {
    if (listener) element.addEventListener(type, /** @type {EventListener} */ (listener));
  }
  append(element, children);
  return element;
}

/**
 * @param {Element | DocumentFragment} parent
 * @param {Child[]} children
 */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (typeof child === 'string' || typeof child === 'number')
      parent.append(document.createTextNode(String(child)));
    else parent.append(child);
  }
}

/**
 * Replaces the children of `parent`.
 * @param {Element} parent
 * @param {...Child} children
 */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * A short relative time ("5 min ago", "3 d ago") with the exact time as a tooltip.
 * @param {string | null | undefined} iso
 */
export function timeAgo(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  /** @type {string} */
  let text;
  if (Number.isNaN(seconds)) text = iso;
  else if (seconds < 60) text = 'just now';
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min ago`;
  else if (seconds < 86_400) text = `${Math.floor(seconds / 3600)} h ago`;
  else if (seconds < 86_400 * 30) text = `${Math.floor(seconds / 86_400)} d ago`;
  else text = date.toLocaleDateString();
  return h('time', { attrs: { datetime: iso, title: date.toLocaleString() } }, text);
}

/**
 * A date-time for tables.
 * @param {string | null | undefined} iso
 */
export function dateTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * A scrollable grid table: one header row, then one row per item.
 * @param {string} tableClass
 * @param {(Node | string)[]} headCells `th` elements, or plain labels
 * @param {Node[]} rows `tr` elements
 */
export function dataTable(tableClass, headCells, rows) {
  const head = headCells.map((cell) => (typeof cell === 'string' ? h('th', null, cell) : cell));
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', { class: tableClass }, h('thead', null, h('tr', null, head)), h('tbody', null, rows)),
  );
}

/**
 * A labelled value for definition lists.
 * @param {string} label
 * @param {Child} value
 */
export function field(label, value) {
  return [h('dt', null, label), h('dd', null, value ?? '—')];
}

/** True when a keystroke is meant for a form control rather than for a shortcut. */
/** @param {KeyboardEvent} event */
export function isTyping(event) {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

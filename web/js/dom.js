// dom.js — building the page from values without ever parsing them as HTML:
// every string becomes a text node or an attribute value, never markup.

const SVG_NS = 'http://www.w3.org/2000/svg';
// Set as properties (their live state), not as attributes.
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate']);

function apply(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Append children: nodes as they are, strings and numbers as text. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h('button', {class: 'btn', onclick: f}, 'Sync'). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  return append(el, ...children);
}

/** An SVG element with presentation attributes (CSP allows these, unlike style=""). */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  return append(el, ...children);
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** Text for screen readers only. */
export function srOnly(text) {
  return h('span', { class: 'sr-only' }, text);
}

/** A titled card: <section class="card"> labelled by its <h2 id="{id}-title">. */
export function card(title, body, { id, className = '', testid } = {}) {
  return h('section', { class: `card ${className}`.trim(), id, 'aria-labelledby': title ? `${id}-title` : null, 'data-testid': testid },
    title ? h('h2', { id: `${id}-title`, class: 'card-title' }, title) : null,
    body);
}

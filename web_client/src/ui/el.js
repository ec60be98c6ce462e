/**
 * A small element builder. Text always goes in through `textContent` (never HTML), so
 * whatever people type (names, chat, opinions, captions) shows as text.
 *
 *   el('li', { class: 'msg', dataset: { id: 3 } }, el('b', {}, name), ': ', text)
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

/** Replace the children of `parent` with `children`. */
export function fill(parent, children) {
  parent.replaceChildren(...children);
}

export const byId = (id) => document.getElementById(id);

/**
 * Rebuild `parent`'s children with `build()` only when `key` changed since the last time,
 * so that periodic redraws (countdowns) do not replace buttons under a finger or the focus.
 * Returns whether it rebuilt.
 */
export function fillKeyed(parent, key, build) {
  if (parent.dataset.key === key) return false;
  parent.dataset.key = key;
  parent.replaceChildren(...build());
  return true;
}

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

/** The signature each keyed node was last drawn from (see `keyed`). */
const drawnFrom = new WeakMap();

/**
 * Bring `parent`'s children in line with `entries` ({key, sig, build, update?}) in place:
 * a child is matched to its entry by `data-key`; one whose `sig` is unchanged is left
 * alone, a changed one is patched with `update(node)` if given (or replaced by `build()`),
 * new ones are built, missing ones removed, and only misplaced ones moved. So an update
 * of one item leaves every other node, and whatever it holds (a checked but unsent
 * choice, the focus, text being typed, the scroll position), as it was. If a move took
 * the focus away, it is given back. `sig` is any string that changes when the item's
 * drawing must change.
 */
export function keyed(parent, entries) {
  const doc = parent.ownerDocument;
  const focused = doc?.activeElement ?? null;
  const wanted = new Set(entries.map((e) => String(e.key)));
  const have = new Map();
  for (const child of [...parent.children]) {
    const k = child.dataset?.key;
    if (k === undefined || !wanted.has(k) || have.has(k)) child.remove();
    else have.set(k, child);
  }
  let ref = parent.firstElementChild;
  for (const e of entries) {
    const key = String(e.key);
    let node = have.get(key);
    if (node && drawnFrom.get(node) !== e.sig) {
      if (e.update) e.update(node);
      else {
        const fresh = e.build();
        fresh.dataset.key = key;
        node.replaceWith(fresh);
        if (ref === node) ref = fresh;
        node = fresh;
      }
    } else if (!node) {
      node = e.build();
      node.dataset.key = key;
    }
    drawnFrom.set(node, e.sig);
    if (node === ref) ref = ref.nextElementSibling;
    else parent.insertBefore(node, ref);
  }
  // Moving a node (insertBefore) blurs what is inside it: give the focus back.
  if (focused && focused !== doc.activeElement && focused.isConnected && parent.contains(focused)) {
    focused.focus({ preventScroll: true });
  }
}

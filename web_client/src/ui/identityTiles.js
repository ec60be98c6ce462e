/**
 * The identity-check tiles (本人確認) of the chair's view and the staff console: one tile per
 * member whose camera the server sends, with their name, the live picture, and, while a
 * slot waits for its first frame, a waiting line. Each <video> carries an aria-label with
 * the member's name, so a screen reader says whose picture it is; the tiles are a labelled
 * list. Layout is the caller's: `renderIdentityTiles` only fills the container it is given.
 */
import { t } from '../i18n.js';
import { el } from './el.js';

/** The tiles' model: one entry per filled slot, in slot order. */
export function tilesOf(slots) {
  const out = [];
  (slots || []).forEach((s, index) => {
    if (s && typeof s.pid === 'string') out.push({ index, pid: s.pid, name: s.name || '' });
  });
  return out;
}

/**
 * Fill `container` with a tile per camera of `viewer` (an `IdentityViewer`): reuses a
 * member's <video> element between calls (no flicker when another camera arrives).
 * Call it from the viewer's `onChange`. Returns the number of tiles.
 */
export function renderIdentityTiles(container, viewer) {
  const tiles = tilesOf(viewer.slots);
  container.setAttribute('role', 'list');
  container.setAttribute('aria-label', t('identity.tiles.title'));
  container.classList.add('identity-tiles');
  const kept = new Map();
  for (const node of container.querySelectorAll('[data-pid]')) kept.set(node.dataset.pid, node);
  const nodes = tiles.map((tile) => {
    let node = kept.get(tile.pid);
    if (!node) {
      const video = el('video', { class: 'identity-video', autoplay: true, playsinline: true, muted: true });
      const waiting = el('span', { class: 'identity-waiting', text: t('identity.tile.waiting') });
      video.addEventListener('playing', () => {
        waiting.hidden = true;
      });
      // A list item holding a figure: `figure` itself may not take the listitem role
      // (ARIA in HTML), so a screen reader would not count the tiles.
      node = el('div', { class: 'identity-tile', role: 'listitem', dataset: { pid: tile.pid } },
        el('figure', { class: 'identity-figure' }, video, waiting,
          el('figcaption', { class: 'identity-name' })));
    }
    const label = t('identity.tile.label', { name: tile.name });
    const video = node.querySelector('video');
    video.setAttribute('aria-label', label);
    node.querySelector('figcaption').textContent = tile.name;
    viewer.attach(video, tile.index);
    return node;
  });
  if (!nodes.length) nodes.push(el('p', { class: 'identity-empty', text: t('identity.tiles.empty') }));
  // Taking a playing <video> out of the page pauses it: re-insert only when the tiles
  // changed, and start any that is paused (autoplay does not resume a moved element).
  const same = nodes.length === container.children.length && nodes.every((n, i) => container.children[i] === n);
  if (!same) container.replaceChildren(...nodes);
  for (const video of container.querySelectorAll('video')) {
    if (video.srcObject && video.paused) video.play().catch(() => {});
  }
  return tiles.length;
}

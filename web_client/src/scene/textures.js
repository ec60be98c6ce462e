/**
 * Textures drawn on canvases at run time: no image files are downloaded. Text uses the
 * system font stack so Japanese renders with whatever the device has.
 */
import * as THREE from 'three';
import { wrapText } from '../state/wrap.js';

export const FONT_STACK =
  'system-ui, -apple-system, "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Noto Sans CJK JP", "Yu Gothic UI", "Yu Gothic", Meiryo, sans-serif';

function canvas(w, h) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  return c;
}

function toTexture(c) {
  const tex = new THREE.CanvasTexture(c);
  tex.colorSpace = THREE.SRGBColorSpace;
  tex.anisotropy = 2;
  return tex;
}

/**
 * Name label: white rounded pill, dark text (the speaker's: another fill and a `border`);
 * returns {texture, aspect}.
 */
export function labelTexture(text, { bg = 'rgba(255,255,255,0.88)', fg = '#111827', accent = null, border = null } = {}) {
  const fontPx = 30;
  const font = `600 ${fontPx}px ${FONT_STACK}`;
  const probe = canvas(1, 1).getContext('2d');
  probe.font = font;
  const pad = 16;
  const w = Math.min(512, Math.ceil(probe.measureText(text).width) + pad * 2 + (accent ? 14 : 0));
  const h = 44;
  const c = canvas(w, h);
  const g = c.getContext('2d');
  g.fillStyle = bg;
  g.beginPath();
  if (g.roundRect) g.roundRect(1, 1, w - 2, h - 2, h / 2 - 1);
  else g.rect(1, 1, w - 2, h - 2); // older Safari
  g.fill();
  if (border) {
    g.lineWidth = 4;
    g.strokeStyle = border;
    g.stroke();
  }
  let x = pad;
  if (accent) {
    g.fillStyle = accent;
    g.beginPath();
    g.arc(pad + 4, h / 2, 6, 0, Math.PI * 2);
    g.fill();
    x += 14;
  }
  g.font = font;
  g.fillStyle = fg;
  g.textBaseline = 'middle';
  g.fillText(text, x, h / 2 + 1, w - x - pad / 2);
  return { texture: toTexture(c), aspect: w / h };
}

/**
 * A notice board face: heading, then each notice's title, date and wrapped body.
 * `strings` carries the translated heading and empty text.
 */
export function boardTexture(notices, strings, w = 640, h = 800) {
  const c = canvas(w, h);
  const g = c.getContext('2d');
  g.fillStyle = '#fdfbf4';
  g.fillRect(0, 0, w, h);
  g.fillStyle = '#1e3a5f';
  g.fillRect(0, 0, w, 76);
  g.fillStyle = '#ffffff';
  g.font = `700 40px ${FONT_STACK}`;
  g.textBaseline = 'middle';
  g.fillText(strings.heading, 24, 40, w - 48);
  g.textBaseline = 'alphabetic';
  const margin = 24;
  const maxW = w - margin * 2;
  const measure = (s) => g.measureText(s).width;
  let y = 128;
  if (!notices.length) {
    g.fillStyle = '#4b5563';
    g.font = `400 30px ${FONT_STACK}`;
    g.fillText(strings.empty, margin, y, maxW);
  }
  for (const n of notices) {
    if (y > h - 60) break;
    g.fillStyle = '#111827';
    g.font = `700 36px ${FONT_STACK}`;
    for (const line of wrapText(n.title, maxW, measure, 2)) {
      g.fillText(line, margin, y);
      y += 44;
    }
    if (n.posted_at) {
      g.fillStyle = '#4b5563';
      g.font = `400 24px ${FONT_STACK}`;
      g.fillText(String(n.posted_at).slice(0, 10), margin, y - 6);
      y += 30;
    }
    g.fillStyle = '#1f2937';
    g.font = `400 30px ${FONT_STACK}`;
    const room = Math.max(1, Math.floor((h - 24 - y) / 39));
    for (const line of wrapText(n.body, maxW, measure, Math.min(room, 8))) {
      g.fillText(line, margin, y);
      y += 39;
    }
    y += 8;
    g.fillStyle = '#d1d5db';
    g.fillRect(margin, y - 16, maxW, 2);
    y += 34;
  }
  return toTexture(c);
}

/**
 * The nameplates of a council chamber in one atlas: cell i (`cols` per row, 256 x 64 px
 * each) shows `texts[i]` in dark ink on a light plate; the chair's (`chair[i]`) in gold on
 * deep red. An empty text leaves a blank plate (a free seat).
 */
export function nameplateAtlas(texts, chair, cols = 4) {
  const cw = 256;
  const ch = 64;
  const rows = Math.max(1, Math.ceil(texts.length / cols));
  const c = canvas(cw * cols, ch * rows);
  const g = c.getContext('2d');
  texts.forEach((text, i) => {
    const x = (i % cols) * cw;
    const y = Math.floor(i / cols) * ch;
    g.fillStyle = chair[i] ? '#7f1d1d' : '#f8f5ee';
    g.fillRect(x, y, cw, ch);
    g.strokeStyle = chair[i] ? '#fbbf24' : '#6b4a2f';
    g.lineWidth = 4;
    g.strokeRect(x + 2, y + 2, cw - 4, ch - 4);
    if (!text) return;
    g.fillStyle = chair[i] ? '#fde68a' : '#111827';
    g.font = `700 34px ${FONT_STACK}`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(text, x + cw / 2, y + ch / 2 + 1, cw - 16);
  });
  return toTexture(c);
}

/** Banner text (room name above the stage). */
export function bannerTexture(text, w = 1024, h = 128) {
  const c = canvas(w, h);
  const g = c.getContext('2d');
  g.fillStyle = '#1e3a5f';
  g.fillRect(0, 0, w, h);
  g.fillStyle = '#f8fafc';
  g.font = `700 64px ${FONT_STACK}`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, w / 2, h / 2 + 2, w - 48);
  return toTexture(c);
}

/** Stone paving: a few tones of grey slabs with joints; tiled across the ground. */
export function pavingTexture(size = 256) {
  const c = canvas(size, size);
  const g = c.getContext('2d');
  g.fillStyle = '#9a958c';
  g.fillRect(0, 0, size, size);
  const n = 4;
  const s = size / n;
  const tones = ['#c9c3b8', '#bfb9ad', '#d3cdc2', '#c4bfb5', '#cbc6bc'];
  for (let r = 0; r < n; r++) {
    const off = r % 2 ? s / 2 : 0; // running bond
    for (let k = -1; k < n; k++) {
      g.fillStyle = tones[(r * 7 + k * 3 + 11) % tones.length];
      g.fillRect(k * s + off + 1.5, r * s + 1.5, s - 3, s - 3);
    }
  }
  const tex = toTexture(c);
  tex.wrapS = tex.wrapT = THREE.RepeatWrapping;
  tex.anisotropy = 1; // it covers half the screen: anisotropic sampling cost ~15 % of a frame in SwiftShader
  return tex;
}

/** Soft dark disc used as a cheap shadow under avatars instead of shadow maps. */
export function blobTexture(size = 64) {
  const c = canvas(size, size);
  const g = c.getContext('2d');
  const grd = g.createRadialGradient(size / 2, size / 2, 0, size / 2, size / 2, size / 2);
  grd.addColorStop(0, 'rgba(0,0,0,0.45)');
  grd.addColorStop(1, 'rgba(0,0,0,0)');
  g.fillStyle = grd;
  g.fillRect(0, 0, size, size);
  return new THREE.CanvasTexture(c);
}

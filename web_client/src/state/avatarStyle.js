/** Avatar style parameters as the protocol defines them, with defaults and validation. */

export const HAIR_STYLES = ['short', 'long', 'bun', 'bald', 'cap'];
export const ACCESSORIES = ['none', 'glasses', 'scarf', 'tie'];
export const DEFAULT_STYLE = Object.freeze({
  body: '#3b82f6',
  skin: '#f1c9a5',
  hair: 'short',
  hair_color: '#2b2b2b',
  accessory: 'none',
});

const HEX = /^#[0-9a-f]{6}$/;

/** A complete, valid style from anything (stored JSON, a server record); unknowns dropped. */
export function normaliseStyle(raw) {
  const s = { ...DEFAULT_STYLE };
  if (!raw || typeof raw !== 'object') return s;
  for (const k of ['body', 'skin', 'hair_color']) {
    const v = typeof raw[k] === 'string' ? raw[k].toLowerCase() : '';
    if (HEX.test(v)) s[k] = v;
  }
  if (HAIR_STYLES.includes(raw.hair)) s.hair = raw.hair;
  if (ACCESSORIES.includes(raw.accessory)) s.accessory = raw.accessory;
  return s;
}

/** Characters counted as the server does after trimming and collapsing whitespace. */
export function cleanName(name) {
  return String(name ?? '').replace(/\s+/g, ' ').trim();
}

/** Client-side pre-check of a display name (the server has the last word). */
export function nameProblem(name) {
  const n = cleanName(name);
  if (!n) return 'bad_name';
  if ([...n].length > 24) return 'bad_name';
  return null;
}

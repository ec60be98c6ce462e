/**
 * UI strings. Every string shown by the client comes from i18n/<lang>.json; Japanese is
 * the default and the fallback, then the key itself.
 */

export const LANGS = ['ja', 'en', 'zh', 'ko'];
export const DEFAULT_LANG = 'ja';

/** Replace `{name}` placeholders; unknown placeholders stay visible. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** Look `key` up in `catalogues[lang]`, then Japanese, then return the key. */
export function translate(catalogues, lang, key, params) {
  const own = catalogues[lang];
  const ja = catalogues[DEFAULT_LANG];
  const s = (own && typeof own[key] === 'string' && own[key]) || (ja && typeof ja[key] === 'string' && ja[key]) || key;
  return params ? format(s, params) : s;
}

/** The language to start with: the one stored on this device, else Japanese. */
export function pickLang(stored) {
  return LANGS.includes(stored) ? stored : DEFAULT_LANG;
}

/**
 * Where each catalogue is. One literal `new URL(...)` per file: served from the sources
 * (dev mode) they name /app/i18n/<lang>.json; the build (Vite) copies each file under a
 * hashed name and puts that name here, so a catalogue can be cached for good.
 */
export const CATALOGUE_URLS = {
  ja: new URL('../i18n/ja.json', import.meta.url).href,
  en: new URL('../i18n/en.json', import.meta.url).href,
  zh: new URL('../i18n/zh.json', import.meta.url).href,
  ko: new URL('../i18n/ko.json', import.meta.url).href,
};

/** Catalogue loader and current language; `fetchJson(url)` is injectable for tests. */
export class I18n {
  constructor(fetchJson = defaultFetchJson, urls = CATALOGUE_URLS) {
    this.fetchJson = fetchJson;
    this.urls = urls;
    this.catalogues = {};
    this.lang = DEFAULT_LANG;
    this.listeners = new Set();
  }

  async #load(lang) {
    if (!this.catalogues[lang]) {
      try {
        this.catalogues[lang] = await this.fetchJson(this.urls[lang]);
      } catch (e) {
        this.catalogues[lang] = {};
        console.warn('i18n: could not load', lang, e);
      }
    }
  }

  /** Switch language (loading Japanese too, as the fallback) and notify listeners. */
  async setLang(lang) {
    if (!LANGS.includes(lang)) lang = DEFAULT_LANG;
    await Promise.all([this.#load(DEFAULT_LANG), this.#load(lang)]);
    this.lang = lang;
    for (const fn of this.listeners) fn(lang);
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  t(key, params) {
    return translate(this.catalogues, this.lang, key, params);
  }

  /**
   * Pick the current language out of a `{ja, en}` object from the server. Rooms are named
   * in Japanese and English only: Chinese and Korean readers get English first.
   */
  pick(obj) {
    if (!obj || typeof obj !== 'object') return String(obj ?? '');
    const second = this.lang === DEFAULT_LANG ? null : obj.en;
    return obj[this.lang] || second || obj[DEFAULT_LANG] || Object.values(obj)[0] || '';
  }
}

async function defaultFetchJson(url) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.json();
}

/** The shared instance used by the UI. */
export const i18n = new I18n();
export const t = (key, params) => i18n.t(key, params);

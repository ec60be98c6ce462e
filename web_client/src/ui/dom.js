/** DOM helpers: static texts from the catalogues, and small storage wrappers. */
import { i18n, t } from '../i18n.js';

/** Fill every `data-i18n*` element under root from the current catalogue. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  document.documentElement.lang = i18n.lang;
  document.title = t('app.title');
}

/** localStorage that never throws (private browsing, storage disabled). */
export const store = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch {
      /* not remembered, nothing else to do */
    }
  },
};

export const KEYS = { name: 'hiroba.name', lang: 'hiroba.lang', avatar: 'hiroba.avatar', device: 'hiroba.device' };

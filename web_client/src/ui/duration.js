/** A recorded meeting's length in words, in the current language. */
import { t } from '../i18n.js';

/** Minutes, or hours and minutes; never "0 min" (a short recording shows as 1 min). */
export function formatDuration(ms) {
  const minutes = Math.max(1, Math.round((Number(ms) || 0) / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? t('archive.durationHM', { h, m }) : t('archive.durationM', { m });
}

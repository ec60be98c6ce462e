/**
 * Times in the staff console, in the city's time zone: the server's `time_zone` setting,
 * which /api/login and /api/session give with the session. Not the browser's zone: a
 * secretariat laptop set to another zone, or a vendor's machine left on UTC, must read the
 * same clock times as the minutes and the exports. Pure, apart from the zone it remembers.
 */

let zone; // undefined: the browser's own, until the session names the city's
const formats = new Map();

/** Whether `name` is a time zone this browser knows (Intl throws on any other). */
export function knownZone(name) {
  if (typeof name !== 'string' || !name) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Remember the city's zone; an unknown or missing name keeps the browser's. */
export function setTimeZone(name) {
  zone = knownZone(name) ? name : undefined;
}

/** The zone times are shown in (undefined: the browser's). */
export function timeZone() {
  return zone;
}

function format(lang, tz, kind) {
  const key = `${lang}|${tz ?? ''}|${kind}`;
  let f = formats.get(key);
  if (!f) {
    const style = kind === 'time' ? { timeStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'short' };
    f = new Intl.DateTimeFormat(lang, { ...style, timeZone: tz });
    formats.set(key, f);
  }
  return f;
}

/** `at` (Unix seconds) as a clock time in the city's zone, e.g. `10:00:00`; '' without one. */
export function formatTime(at, lang, tz = zone) {
  return at ? format(lang, tz, 'time').format(new Date(at * 1000)) : '';
}

/** `at` (Unix seconds) as a date and time in the city's zone; '' without one. */
export function formatDateTime(at, lang, tz = zone) {
  return at ? format(lang, tz, 'datetime').format(new Date(at * 1000)) : '';
}

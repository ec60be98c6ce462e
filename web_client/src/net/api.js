/** HTTP calls to the same origin. */

/** `GET /api/rooms` → the list of rooms `{id, kind, name: {ja, en}, capacity, participants}`. */
export async function fetchRooms() {
  const r = await fetch('/api/rooms', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const body = await r.json();
  return Array.isArray(body.rooms) ? body.rooms : [];
}

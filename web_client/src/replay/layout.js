/**
 * The room the replay draws. The manifest may carry the room's layout (`room_layout`, the
 * join snapshot's `room` shape: bounds, stage, seats, gallery, spawn); a recording outlives
 * its room, so without it the plaza is rebuilt from the recording itself: the stage around
 * where the stage avatars sat, a seat under each, bounds around every recorded position.
 * Pure.
 */
const PAD = 8; // metres of plaza around what was recorded
const STAGE_PAD = 1.5;

/** `{room, seatOf(slot) → seat | null}` for Plaza.load. */
export function replayRoom(manifest, timeline) {
  const name = manifest.room_name ?? { ja: manifest.room ?? '', en: manifest.room ?? '' };
  const given = manifest.room_layout;
  if (given && given.bounds) {
    return { room: { id: manifest.room, kind: given.kind ?? 'committee', ...given, name, boards: given.boards ?? [] } };
  }
  const stage = new Set(timeline.stageSlots);
  const seats = [];
  let minX = Infinity, maxX = -Infinity, minZ = Infinity, maxZ = -Infinity;
  for (const [slot, tr] of timeline.slots) {
    const n = tr.posT.length;
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, tr.posX[i]);
      maxX = Math.max(maxX, tr.posX[i]);
      minZ = Math.min(minZ, tr.posZ[i]);
      maxZ = Math.max(maxZ, tr.posZ[i]);
    }
    if (stage.has(slot) && n) {
      // a seated avatar stays where it sits: its last position is its seat
      seats.push({ id: `slot-${slot}`, x: tr.posX[n - 1], z: tr.posZ[n - 1], h: tr.posH[n - 1], chair: false, slot });
    }
  }
  if (!Number.isFinite(minX)) minX = maxX = minZ = maxZ = 0;
  let stageRect = null;
  if (seats.length) {
    const xs = seats.map((s) => s.x), zs = seats.map((s) => s.z);
    const x0 = Math.min(...xs) - STAGE_PAD, x1 = Math.max(...xs) + STAGE_PAD;
    const z0 = Math.min(...zs) - STAGE_PAD, z1 = Math.max(...zs) + STAGE_PAD;
    stageRect = { x: (x0 + x1) / 2, z: (z0 + z1) / 2, width: Math.max(6, x1 - x0), depth: Math.max(3, z1 - z0) };
  }
  const room = {
    id: manifest.room,
    kind: stageRect ? 'committee' : 'plaza',
    name,
    bounds: { min_x: minX - PAD, max_x: maxX + PAD, min_z: minZ - PAD, max_z: maxZ + PAD },
    stage: stageRect,
    seats,
    gallery: null,
    boards: [],
    spawn: { x: (minX + maxX) / 2, z: maxZ + 2, radius: 2 },
  };
  return { room };
}

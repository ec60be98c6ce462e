/**
 * The recording indicator of the plaza page (issue 6): on screen for as long as the room
 * is being recorded, not a toast that can be missed. Its element has role="status", so a
 * screen reader hears it when it appears; the meeting UI also announces start and stop.
 * Fed with RecordingStatus objects (docs/protocol.md "Recording") from join acks and
 * `meeting:recording`.
 */
import { byId } from './el.js';

export class RecordingBadge {
  /** @param {string} id the indicator element (its text is translated by data-i18n). */
  constructor(id = 'recording-badge') {
    this.id = id;
    this.recording = false;
    this.since = null;
  }

  /** A RecordingStatus (null: not in a room). Returns true if recording changed. */
  set(status) {
    const was = this.recording;
    this.recording = !!status?.recording;
    this.since = this.recording ? (status.since ?? null) : null;
    const el = byId(this.id);
    if (el) el.hidden = !this.recording;
    return was !== this.recording;
  }
}

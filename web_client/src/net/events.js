/**
 * Socket.io event names of the Hiroba control plane, defined once for the browser.
 * They must match server/events.py and docs/protocol.md.
 */
export const JOIN = 'join';
export const LEAVE = 'leave';
export const MOVE = 'move';
export const ROOM_DELTA = 'room:delta';

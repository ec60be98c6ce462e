/**
 * Thin socket.io adapter for the control plane: join/leave with acks, deltas to a
 * callback, and a rejoin of the same room after a reconnect. Positions and poses travel on
 * the motion plane (net/motion.js), not here.
 */
import { io } from 'socket.io-client';
import { forgetDevice, saveDevice, withDevice } from './device.js';
import { JOIN, LEAVE, ROOM_DELTA, RTC_CLOSED } from './events.js';

const ACK_TIMEOUT_MS = 10000;

/** An error carrying the server's machine-readable reason code. */
export class JoinError extends Error {
  constructor(reason, message) {
    super(message || reason);
    this.name = 'JoinError';
    this.reason = reason;
  }
}

/**
 * The payload to rejoin with after a reconnect: the same join, plus the device and resume
 * token of its ack, so that the person keeps their participant id (docs/protocol.md `join`).
 */
export function resumable(payload, res) {
  const next = { ...payload };
  if (res && typeof res.device === 'string') next.device = res.device;
  if (res && typeof res.resume === 'string') next.resume = res.resume;
  else delete next.resume;
  return next;
}

export class HirobaSocket {
  /** Rejecters of the joins waiting for an answer (see connect_error below). */
  #waiting = new Set();

  /** @param {object} [handlers] onDelta(delta), onRejoin({self, snapshot}), onStatus(status), onRejoinFailed(err) */
  constructor(handlers = {}, ioFactory = io) {
    this.handlers = handlers;
    this.joinPayload = null;
    this.socket = ioFactory({ transports: ['websocket'], reconnectionDelayMax: 8000 });
    this.socket.on(ROOM_DELTA, (d) => this.handlers.onDelta?.(d));
    this.socket.on(RTC_CLOSED, (m) => this.handlers.onRtcClosed?.(m));
    // The server may refuse the connection itself (too many from one address): that comes
    // as connect_error with a reason, not as an ack, and socket.io does not retry it. A join
    // waiting for the connection fails at once with that reason instead of timing out.
    this.socket.on('connect_error', (err) => {
      const reason = err?.data?.reason;
      if (typeof reason !== 'string') return;
      const refusal = new JoinError(reason, err.data.message);
      this.socket.disconnect(); // let the server close the idle transport too; join() reopens
      for (const reject of this.#waiting) reject(refusal);
    });
    this.socket.on('connect', () => {
      this.handlers.onStatus?.('connected');
      if (this.socket.recovered || !this.joinPayload || this.joining) return;
      const payload = this.joinPayload;
      this.#emitJoin(payload).catch((err) => {
        // an expired or refused resume token (or device identity): join again as a newcomer
        if (err.reason === 'bad_device') return this.#withoutDevice(payload);
        if (err.reason !== 'bad_token' || !payload.resume) throw err;
        const { resume: _r, ...fresh } = payload;
        return this.#emitJoin(fresh);
      }).then(
        (res) => {
          saveDevice(res.device);
          this.joinPayload = resumable(payload, res);
          this.handlers.onRejoin?.(res);
        },
        (err) => {
          this.joinPayload = null;
          this.handlers.onRejoinFailed?.(err);
        },
      );
    });
    this.socket.on('disconnect', (reason) => {
      this.handlers.onStatus?.('disconnected');
      // socket.io does not retry after the server closed the session itself (a restart,
      // a flood cut-off); try once more after a pause if we were in a room
      if (reason === 'io server disconnect' && this.joinPayload) {
        setTimeout(() => this.joinPayload && !this.socket.connected && this.socket.connect(), 3000);
      }
    });
    // After a failed websocket attempt try again with the default transports (polling
    // first): some networks drop websocket upgrades.
    this.socket.io.on('reconnect_attempt', (n) => {
      if (n >= 3) this.socket.io.opts.transports = ['polling', 'websocket'];
    });
  }

  get connected() {
    return this.socket.connected;
  }

  /**
   * Join a room. Resolves `{self, snapshot, place, device, meeting}` (or, for someone who
   * waits in a committee's lobby, `{self, place: 'lobby', lobby, device}`); rejects with a JoinError whose `.reason` is
   * the server's code (or `timeout`). The payload is kept to rejoin after a reconnect.
   */
  async join(payload) {
    this.joining = true;
    // the server may have closed this socket (a removal): socket.io does not reconnect by itself then
    if (!this.socket.connected && !this.socket.active) this.socket.connect();
    try {
      const sent = withDevice(payload);
      const res = await this.#emitJoin(sent).catch((err) => {
        if (err.reason !== 'bad_device' || !sent.device) throw err;
        return this.#withoutDevice(sent);
      });
      saveDevice(res.device);
      this.joinPayload = resumable(sent, res);
      return res;
    } finally {
      this.joining = false;
    }
  }

  /** The stored identity was refused (`bad_device`: not signed by this server, e.g. a
   * reinstalled server with a new secret): forget it and join once without, as a browser
   * seen for the first time; the server issues a new one. */
  #withoutDevice(payload) {
    forgetDevice();
    const { device: _d, resume: _r, ...fresh } = payload;
    return this.#emitJoin(fresh);
  }

  #emitJoin(payload) {
    let refused;
    return new Promise((resolve, reject) => {
      refused = reject;
      this.#waiting.add(refused);
      this.socket.timeout(ACK_TIMEOUT_MS).emit(JOIN, payload, (err, ack) => {
        if (err) return reject(new JoinError('timeout', 'no answer from the server'));
        if (!ack || ack.ok !== true) {
          return reject(new JoinError((ack && ack.reason) || 'internal', ack && ack.message));
        }
        // the whole ack: `self`, `snapshot`, and the meeting's `place`, `device`, `meeting`, `lobby`
        const { ok: _ok, ...res } = ack;
        resolve(res);
      });
    }).finally(() => this.#waiting.delete(refused));
  }

  /** Emit `event` and resolve the server's ack (`{ok, ...}`); rejects on timeout. */
  request(event, payload, timeoutMs = ACK_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        if (err) reject(new JoinError('timeout', 'no answer from the server'));
        else resolve(ack);
      });
    });
  }

  /** Leave the room (the socket stays connected for another join). */
  leave() {
    this.joinPayload = null;
    if (!this.socket.connected) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.timeout(3000).emit(LEAVE, {}, () => resolve());
    });
  }
}

/**
 * The staff HTTP API as the console uses it: session, login, logout, and JSON calls that
 * carry the CSRF token (docs/protocol.md, "Staff HTTP API").
 */

export class ApiError extends Error {
  constructor(reason, message, status) {
    super(message || reason);
    this.reason = reason;
    this.status = status;
  }
}

async function parse(r) {
  let body = null;
  try {
    body = await r.json();
  } catch {
    /* not JSON */
  }
  if (!r.ok || !body || body.ok === false) {
    throw new ApiError(body?.reason || (r.status === 401 ? 'session_expired' : 'internal'), body?.message, r.status);
  }
  return body;
}

export class ConsoleApi {
  constructor(fetchImpl = (...a) => fetch(...a)) {
    this.fetch = fetchImpl;
    this.csrf = null;
    this.account = null;
  }

  #remember(body) {
    this.csrf = body.csrf;
    // kind "signer": a signing account (会議録署名), shown the minutes panel only.
    this.account = { name: body.account, display: body.display_name, expires: body.expires_at, kind: body.kind || 'staff' };
    this.timeZone = body.time_zone ?? null; // the city's, for every time the console shows
    return body;
  }

  /** The current login, or null. */
  async session() {
    try {
      return this.#remember(await parse(await this.fetch('/api/session', { credentials: 'same-origin' })));
    } catch (e) {
      if (e.reason === 'session_expired') return null;
      throw e;
    }
  }

  async login(account, password) {
    const r = await this.fetch('/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account, password }),
    });
    return this.#remember(await parse(r));
  }

  async logout() {
    await this.post('/api/logout', {});
    this.csrf = null;
    this.account = null;
  }

  /** A state-changing call: JSON body, CSRF token header. */
  async post(path, body) {
    const r = await this.fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf || '' },
      body: JSON.stringify(body ?? {}),
    });
    return parse(r);
  }

  async get(path) {
    return parse(await this.fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } }));
  }
}

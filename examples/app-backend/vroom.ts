// The calls this backend makes to vroom. Two kinds of credentials are involved:
//  - the app's API key and secret (HTTP Basic) for the *server API* `/v2/apps/me/**`: they
//    must never leave the backend;
//  - a member's access token (Bearer) for the *member API* `/v2/members/**`: the front end
//    holds it and normally calls vroom itself through the web SDK.

/** vroom's error envelope; this backend answers with the same shape. */
export interface ApiError {
  errorCode: string;
  errorMessage: string;
}

/** The subset of vroom's Member DTO that this example reads. */
export interface Member {
  id: number;
  appUserId: string;
  appUserName: string | null;
  [field: string]: unknown;
}

/** The subset of vroom's VideoRoom DTO that this example reads. */
export interface VideoRoom {
  id: number;
  uuid: string;
  title: string | null;
  videoRoomState: string;
  member: { id: number; appUserId: string; appUserName: string | null };
  [field: string]: unknown;
}

/** `POST /v2/apps/me/members/login` */
export interface LoginResponse {
  accessToken: string;
  refreshToken: string;
  member: Member;
}

/** `PUT /v2/apps/me/callback-api` */
export interface CallbackApi {
  url: string;
  accessId: string | null;
  hasAccessPassword: boolean;
  signingSecret?: string;
}

/** A non-2xx answer of vroom, kept whole so that the backend can pass it on. */
export class VroomError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`vroom answered ${status} ${body.errorCode}: ${body.errorMessage}`);
  }
}

type Auth = { basic: string } | { bearer: string } | null;

export class Vroom {
  readonly #basic: string;

  constructor(
    readonly baseUrl: string,
    apiKey: string,
    apiSecret: string,
  ) {
    this.#basic = Buffer.from(`${apiKey}:${apiSecret}`).toString('base64');
  }

  // ---- server API (Basic apiKey:apiSecret) ----

  /** Creates the member if new, updates its name otherwise, and issues its tokens. */
  loginMember(appUserId: string, appUserName: string | null): Promise<LoginResponse> {
    return this.#call('POST', '/v2/apps/me/members/login', { basic: this.#basic }, { appUserId, appUserName });
  }

  /** Creates a conference room owned by `appUserId` (server API: the app decides who owns it). */
  createRoom(appUserId: string, room: { title?: string }): Promise<VideoRoom> {
    return this.#call('POST', '/v2/apps/me/video-rooms', { basic: this.#basic }, { ...room, appUserId });
  }

  /** Registers (or replaces) the app's webhook receiver; the answer carries the signing secret. */
  putCallbackApi(url: string, accessId?: string, accessPassword?: string): Promise<CallbackApi> {
    return this.#call('PUT', '/v2/apps/me/callback-api', { basic: this.#basic }, { url, accessId, accessPassword });
  }

  // ---- member API (Bearer access token) ----

  /** Who holds this access token (401 from vroom when it is invalid or expired). */
  me(accessToken: string): Promise<Member> {
    return this.#call('GET', '/v2/members/me', { bearer: accessToken });
  }

  /** Trades a refresh token (single use) for a new pair. vroom's server API has no such call. */
  refresh(refreshToken: string): Promise<{ accessToken: string; refreshToken: string }> {
    return this.#call('POST', '/v2/members/refresh-token', null, { refreshToken });
  }

  async #call<T>(method: string, path: string, auth: Auth, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth && 'basic' in auth) headers.authorization = `Basic ${auth.basic}`;
    if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // vroom always answers JSON; anything else is reported as is below.
    }
    if (!res.ok) {
      const err = isApiError(parsed) ? parsed : { errorCode: 'UNEXPECTED_RESPONSE', errorMessage: text.slice(0, 200) };
      throw new VroomError(res.status, err);
    }
    return parsed as T;
  }
}

function isApiError(v: unknown): v is ApiError {
  return typeof v === 'object' && v !== null && typeof (v as ApiError).errorCode === 'string';
}

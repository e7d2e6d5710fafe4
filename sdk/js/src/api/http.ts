// HTTP transport of the member API: fetch, exact expected statuses, typed errors, and
// renewal of an expired access token (one refresh at a time, one retry per call).
import { FFCApiError, FFCNetworkError } from '../errors';
import { FFCLoggerNames, getLogger } from '../logger';
import { toTokens } from './mapping';
import type { FFCTokensRefreshedDto } from './data';

const log = getLogger(FFCLoggerNames.Api);

/** errorCodes of a 401 after which a refreshed access token may succeed. */
export const RENEWABLE_ERROR_CODES: readonly string[] = ['EXPIRED_ACCESS_TOKEN', 'INVALID_ACCESS_TOKEN'];

export const REFRESH_TOKEN_PATH = '/v2/members/refresh-token';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link FlipFlopCloudClient}. */
export interface FlipFlopCloudClientOptions {
  /** Base URL of the API, e.g. `https://vroom.example.com` (no trailing `/v2`). */
  baseUrl: string;
  /** The member's access token. */
  accessToken: string;
  /** The member's refresh token: with it, an expired access token is renewed automatically. */
  refreshToken?: string;
  /** Receives the new tokens after every renewal (store them: a refresh token is single use). */
  onTokensRefreshed?: (tokens: FFCTokensRefreshedDto) => void;
  /** Renew an expired access token and retry once (default true; needs `refreshToken`). */
  autoRefreshTokens?: boolean;
  /** Per-request timeout in milliseconds (default 30 000; 0: none). */
  timeoutMs?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: FetchLike;
}

/** @internal One call: method, path (with query), JSON body, the one status that means success. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: object;
  body?: unknown;
  expect: number;
  /** Send the access token (default true). */
  auth?: boolean;
}

/** Builds `?a=1&b=2` from the defined values of `query` (Dates as RFC 3339). */
export function queryString(query?: object): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query) as [string, unknown][]) {
    if (v === undefined || v === null) continue;
    params.append(k, v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** @internal */
export class HttpTransport {
  private readonly baseUrl: string;
  private accessToken: string;
  private refreshToken: string | undefined;
  private readonly onTokensRefreshed: ((tokens: FFCTokensRefreshedDto) => void) | undefined;
  private readonly autoRefresh: boolean;
  private readonly timeoutMs: number;
  private readonly fetchImpl: FetchLike | undefined;
  private refreshing: Promise<FFCTokensRefreshedDto> | null = null;

  constructor(opts: FlipFlopCloudClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.accessToken = opts.accessToken;
    this.refreshToken = opts.refreshToken;
    this.onTokensRefreshed = opts.onTokensRefreshed;
    this.autoRefresh = opts.autoRefreshTokens ?? true;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchImpl = opts.fetch;
  }

  getAccessToken(): string {
    return this.accessToken;
  }

  getRefreshToken(): string | undefined {
    return this.refreshToken;
  }

  setTokens(accessToken: string, refreshToken?: string): void {
    this.accessToken = accessToken;
    if (refreshToken !== undefined) this.refreshToken = refreshToken;
  }

  /** Sends `spec`; on a renewable 401 refreshes the tokens (shared with concurrent calls) and retries once. */
  async request(spec: RequestSpec): Promise<unknown> {
    const usedToken = this.accessToken;
    try {
      return await this.send(spec, usedToken);
    } catch (err) {
      if (!this.shouldRenew(err, spec)) throw err;
      // A concurrent call may have renewed the token since this one was sent.
      if (this.accessToken === usedToken) await this.refreshTokens();
      return this.send(spec, this.accessToken);
    }
  }

  private shouldRenew(err: unknown, spec: RequestSpec): boolean {
    return (
      err instanceof FFCApiError &&
      err.status === 401 &&
      RENEWABLE_ERROR_CODES.includes(err.errorCode) &&
      spec.auth !== false &&
      this.autoRefresh &&
      this.refreshToken !== undefined
    );
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request; the
   * new pair is stored and handed to `onTokensRefreshed`.
   */
  refreshTokens(): Promise<FFCTokensRefreshedDto> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<FFCTokensRefreshedDto> {
    const refreshToken = this.refreshToken;
    if (refreshToken === undefined) {
      throw new FFCApiError(401, 'EMPTY_REFRESH_TOKEN', 'no refresh token was given to the client', `POST ${REFRESH_TOKEN_PATH}`);
    }
    log.debug('renewing the access token');
    const raw = await this.send({ method: 'POST', path: REFRESH_TOKEN_PATH, body: { refreshToken }, expect: 200, auth: false }, undefined);
    const tokens = toTokens(raw);
    if (!tokens.accessToken || !tokens.refreshToken) {
      throw new FFCApiError(200, 'INVALID_RESPONSE_BODY', 'the refresh answer has no accessToken/refreshToken', `POST ${REFRESH_TOKEN_PATH}`);
    }
    this.accessToken = tokens.accessToken;
    this.refreshToken = tokens.refreshToken;
    log.info('access token renewed');
    this.onTokensRefreshed?.(tokens);
    return tokens;
  }

  private async send(spec: RequestSpec, token: string | undefined): Promise<unknown> {
    const pathAndQuery = spec.path + queryString(spec.query);
    const what = `${spec.method} ${spec.path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.auth !== false && token !== undefined) headers.authorization = `Bearer ${token}`;
    const controller = typeof AbortController === 'function' ? new AbortController() : undefined;
    const timer =
      controller && this.timeoutMs > 0
        ? setTimeout(() => {
            controller.abort();
          }, this.timeoutMs)
        : undefined;
    let res: Response;
    let text: string;
    const doFetch = this.fetchImpl ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
    try {
      res = await doFetch(this.baseUrl + pathAndQuery, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: controller?.signal,
      });
      text = await res.text();
    } catch (cause) {
      log.warn(`${what} failed without a response`);
      if (controller?.signal.aborted) throw new FFCNetworkError('TIMEOUT', `no answer within ${this.timeoutMs} ms`, what, { cause });
      throw new FFCNetworkError('NETWORK_ERROR', cause instanceof Error ? cause.message : String(cause), what, { cause });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    log.debug(`${what} → ${res.status}`);
    if (res.status !== spec.expect) throw errorOf(res, text, spec, what);
    if (!text) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new FFCApiError(res.status, 'INVALID_RESPONSE_BODY', 'the answer is not JSON', what, { cause });
    }
  }
}

function errorOf(res: Response, text: string, spec: RequestSpec, what: string): FFCApiError {
  if (res.status >= 200 && res.status < 300) {
    return new FFCApiError(res.status, 'UNEXPECTED_STATUS', `expected status ${spec.expect}, got ${res.status}`, what);
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object') {
    const { errorCode, errorMessage } = parsed as { errorCode?: unknown; errorMessage?: unknown };
    if (typeof errorCode === 'string' && errorCode) {
      return new FFCApiError(res.status, errorCode, typeof errorMessage === 'string' ? errorMessage : res.statusText, what);
    }
  }
  const snippet = text.trim().slice(0, 200);
  return new FFCApiError(res.status, `HTTP_${res.status}`, snippet || res.statusText || `HTTP ${res.status}`, what);
}

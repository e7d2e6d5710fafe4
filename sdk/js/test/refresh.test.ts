import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FFCApiError, FlipFlopCloud, FlipFlopCloudClient, type FFCTokensRefreshedDto } from '../src/index';
import { BASE, FakeServer, json, wireRoom, type Call } from './fake-server';

const REFRESH = '/v2/members/refresh-token';
const ROOM = '/v2/members/me/video-rooms/7';

/** vroom's behaviour: only the current access token works; a refresh token is single use. */
function tokenServer(delayMs = 20) {
  const server = new FakeServer();
  const state = { access: 'at-2', refresh: 'rt-1', n: 1 };
  const authed = (c: Call, ok: () => Response) => {
    if (c.headers.authorization === `Bearer ${state.access}`) return ok();
    return json(401, { errorCode: 'EXPIRED_ACCESS_TOKEN', errorMessage: 'the access token has expired' });
  };
  server.route('GET', ROOM, (c) => authed(c, () => json(200, wireRoom())));
  server.route('GET', '/v2/members/me', (c) => authed(c, () => json(200, { id: 3, appUserId: 'alice', app: { id: 1, name: 'dev' } })));
  server.route('POST', REFRESH, async (c) => {
    await new Promise((r) => setTimeout(r, delayMs));
    const { refreshToken } = c.body as { refreshToken: string };
    if (refreshToken !== state.refresh) return json(401, { errorCode: 'INVALID_REFRESH_TOKEN', errorMessage: 'spent' });
    state.n += 1;
    state.access = `at-${state.n + 1}`;
    state.refresh = `rt-${state.n}`;
    return json(200, { accessToken: state.access, refreshToken: state.refresh });
  });
  return { server, state };
}

describe('access token renewal', () => {
  let server: FakeServer;
  let state: { access: string; refresh: string };
  let seen: FFCTokensRefreshedDto[];
  let client: FlipFlopCloudClient;

  beforeEach(() => {
    ({ server, state } = tokenServer());
    seen = [];
    client = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'at-expired', refreshToken: 'rt-1', fetch: server.fetch, onTokensRefreshed: (t) => seen.push(t) });
  });

  it('on 401 EXPIRED_ACCESS_TOKEN: refreshes, retries once with the new token, hands the pair to the callback', async () => {
    expect((await client.getVideoRoom(7)).id).toBe(7);
    const refreshes = server.callsTo('POST', REFRESH);
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0].body).toEqual({ refreshToken: 'rt-1' });
    expect(refreshes[0].headers.authorization).toBeUndefined();
    expect(server.callsTo('GET', ROOM).map((c) => c.headers.authorization)).toEqual(['Bearer at-expired', `Bearer ${state.access}`]);
    expect(seen).toEqual([{ accessToken: state.access, refreshToken: state.refresh }]);
    expect(client.getAccessToken()).toBe(state.access);
    expect(client.getRefreshToken()).toBe(state.refresh);
  });

  it('two calls racing on an expired token cause exactly one refresh', async () => {
    const [room, me] = await Promise.all([client.getVideoRoom(7), client.getMe()]);
    expect(room.id).toBe(7);
    expect(me.appUserId).toBe('alice');
    expect(server.callsTo('POST', REFRESH)).toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  it('a 401 that arrives after another call already renewed the token retries without a second refresh', async () => {
    let releaseLate!: () => void;
    const late = new Promise<void>((r) => (releaseLate = r));
    const slow = new FakeServer();
    slow.route('GET', ROOM, async (c) => {
      if (c.headers.authorization === 'Bearer at-expired') await late;
      return server.fetch(`${BASE}${ROOM}`, { method: 'GET', headers: { authorization: c.headers.authorization } });
    });
    slow.route('GET', '/v2/members/me', (c) => server.fetch(`${BASE}/v2/members/me`, { method: 'GET', headers: { authorization: c.headers.authorization } }));
    slow.route('POST', REFRESH, (c) => server.fetch(`${BASE}${REFRESH}`, { method: 'POST', body: JSON.stringify(c.body) }));
    const racing = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'at-expired', refreshToken: 'rt-1', fetch: slow.fetch });
    const roomCall = racing.getVideoRoom(7);
    await racing.getMe(); // fails, refreshes, succeeds
    releaseLate(); // now the room call sees its 401
    expect((await roomCall).id).toBe(7);
    expect(server.callsTo('POST', REFRESH)).toHaveLength(1);
  });

  it('a failed refresh rejects with the refresh error, without calling back', async () => {
    state.refresh = 'someone-else-used-it';
    const err = await client.getVideoRoom(7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FFCApiError);
    expect(err).toMatchObject({ status: 401, errorCode: 'INVALID_REFRESH_TOKEN' });
    expect(seen).toEqual([]);
  });

  it('retries once only: a second 401 is returned to the caller', async () => {
    server.route('GET', ROOM, () => json(401, { errorCode: 'EXPIRED_ACCESS_TOKEN', errorMessage: 'still' }));
    await expect(client.getVideoRoom(7)).rejects.toMatchObject({ status: 401, errorCode: 'EXPIRED_ACCESS_TOKEN' });
    expect(server.callsTo('POST', REFRESH)).toHaveLength(1);
    expect(server.callsTo('GET', ROOM)).toHaveLength(2);
  });

  it('no refresh without a refresh token, for other 401 codes, or when disabled', async () => {
    const without = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'at-expired', fetch: server.fetch });
    await expect(without.getVideoRoom(7)).rejects.toMatchObject({ status: 401, errorCode: 'EXPIRED_ACCESS_TOKEN' });
    const disabled = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'at-expired', refreshToken: 'rt-1', autoRefreshTokens: false, fetch: server.fetch });
    await expect(disabled.getVideoRoom(7)).rejects.toMatchObject({ status: 401 });
    server.route('GET', '/v2/members/me', () => json(401, { errorCode: 'EMPTY_ACCESS_TOKEN', errorMessage: 'none' }));
    await expect(client.getMe()).rejects.toMatchObject({ errorCode: 'EMPTY_ACCESS_TOKEN' });
    expect(server.callsTo('POST', REFRESH)).toHaveLength(0);
  });

  it('refreshTokens() on demand: concurrent callers share one request; the static API has it too', async () => {
    const [a, b] = await Promise.all([client.refreshTokens(), client.refreshTokens()]);
    expect(a).toEqual(b);
    expect(server.callsTo('POST', REFRESH)).toHaveLength(1);
    const fetchSpy = vi.fn(server.fetch);
    FlipFlopCloud.init(BASE, 'at-x', state.refresh, { fetch: fetchSpy, onTokensRefreshed: (t) => seen.push(t) });
    const pair = await FlipFlopCloud.refreshTokens();
    expect(FlipFlopCloud.getAccessToken()).toBe(pair.accessToken);
    expect(seen.at(-1)).toEqual(pair);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FFCAccessLevel,
  FFCApiError,
  FFCNetworkError,
  FFCVideoRoomState,
  FFCVideoRoomsSortOption,
  FFCVideoRoomType,
  FlipFlopCloud,
  FlipFlopCloudClient,
  SdkNotInitializedError,
} from '../src/index';
import { BASE, FakeServer, json, wireRoom } from './fake-server';

let server: FakeServer;
let client: FlipFlopCloudClient;

beforeEach(() => {
  server = new FakeServer();
  client = new FlipFlopCloudClient({ baseUrl: `${BASE}/`, accessToken: 'at-1', fetch: server.fetch });
});

describe('DTO mapping', () => {
  it('maps a room: known fields, dates as Date, null as undefined, vroom fields', async () => {
    server.route('GET', '/v2/members/me/video-rooms/7', () => json(200, { ...wireRoom(), extra: 'dropped' }));
    const room = await client.getVideoRoom(7);
    expect(room).toEqual({
      id: 7,
      uuid: 'r-abc',
      state: 'ACTIVE',
      type: FFCVideoRoomType.VIDEO_CONFERENCE,
      videoRoomState: FFCVideoRoomState.LIVE,
      accessLevel: FFCAccessLevel.PUBLIC,
      app: { id: 1, name: 'dev' },
      member: { id: 3, appUserId: 'alice', appUserName: 'Alice', appUserProfileImgUrl: undefined },
      creatorType: 'MEMBER',
      creatorId: 3,
      title: 'Standup',
      description: undefined,
      customType: undefined,
      customData: { team: 'core' },
      policy: { hasPassword: true, manuallyApproval: false, canAutoRoomCompositeRecording: false },
      scheduledAt: undefined,
      liveStartedAt: new Date('2025-01-02T03:04:05.123Z'),
      liveEndedAt: undefined,
      lastSessionNo: 2,
      viewOptions: undefined,
      createdAt: new Date('2025-01-01T00:00:00Z'),
      lastModifiedAt: new Date('2025-01-02T00:00:00Z'),
    });
    expect(server.calls[0].headers.authorization).toBe('Bearer at-1');
  });

  it('lists rooms with the query (sort enum values) and maps the page', async () => {
    server.route('GET', '/v2/members/me/video-rooms', () =>
      json(200, { content: [wireRoom(), wireRoom({ id: 8 })], totalPages: 1, totalElements: 2, numberOfElements: 2, number: 0, size: 20, first: true, last: true, empty: false, pageable: {} }),
    );
    const page = await client.listVideoRooms({ page: 1, pageSize: 20, sortBy: FFCVideoRoomsSortOption.CREATED_AT_DESC, keyword: 'stand up', type: undefined });
    expect(page.content.map((r) => r.id)).toEqual([7, 8]);
    expect(page).toMatchObject({ totalPages: 1, totalElements: 2, numberOfElements: 2, number: 0, size: 20, first: true, last: true, empty: false });
    expect(Object.keys(page).sort()).toEqual(['content', 'empty', 'first', 'last', 'number', 'numberOfElements', 'size', 'totalElements', 'totalPages']);
    const q = server.calls[0].query;
    expect([...q.entries()]).toEqual([
      ['page', '1'],
      ['pageSize', '20'],
      ['sortBy', 'CREATED_AT_DESC'],
      ['keyword', 'stand up'],
    ]);
  });

  it('maps the member, sends create/update bodies, expects 201/200, and passes observerGrant', async () => {
    server
      .route('GET', '/v2/members/me', () =>
        json(200, { id: 3, state: 'ACTIVE', appUserId: 'alice', appUserName: null, app: { id: 1, name: 'dev' }, email: 'a@x', createdAt: '2025-01-01T00:00:00Z', lastModifiedAt: '2025-01-01T00:00:00Z' }),
      )
      .route('POST', '/v2/members/me/video-rooms', () => json(201, wireRoom()))
      .route('PATCH', '/v2/members/me/video-rooms/7', (c) => json(200, wireRoom({ title: (c.body as { title: string }).title })))
      .route('DELETE', '/v2/members/me/video-rooms/7', () => json(200, wireRoom()))
      .route('POST', '/v2/members/me/video-rooms/7/web-rtc-tokens', () => json(201, { webRtcServerUrl: 'ws://m', webRtcToken: 'lk', other: 1 }));
    const me = await client.getMe();
    expect(me).toMatchObject({ id: 3, appUserId: 'alice', appUserName: undefined, email: 'a@x', app: { id: 1, name: 'dev' } });
    expect(me.createdAt).toBeInstanceOf(Date);
    const scheduledAt = new Date('2030-01-01T10:00:00Z');
    await client.createVideoRoom({ type: FFCVideoRoomType.VIDEO_CONFERENCE, title: 'T', scheduledAt });
    expect(server.callsTo('POST', '/v2/members/me/video-rooms')[0].body).toEqual({ type: 'VIDEO_CONFERENCE', title: 'T', scheduledAt: '2030-01-01T10:00:00.000Z' });
    expect((await client.updateVideoRoom(7, { title: 'New' })).title).toBe('New');
    await expect(client.deleteVideoRoom(7)).resolves.toBeUndefined();
    expect(await client.issueRtcVideoRoomToken(7, { observerGrant: 'g', password: 'pw' })).toEqual({ webRtcServerUrl: 'ws://m', webRtcToken: 'lk' });
    expect(server.callsTo('POST', '/v2/members/me/video-rooms/7/web-rtc-tokens')[0].body).toEqual({ observerGrant: 'g', password: 'pw' });
  });

  it('maps the owner calls: uuid, sessions, attendance, live participants, approve/reject/remove, end', async () => {
    const live = { participantSid: 'PA_1', appUserId: 'bob', appUserName: null, channelMemberType: 'MEMBER', customData: null, hidden: true, waiting: true, canPublish: false, canSubscribe: false, joinedAt: '2025-01-01T00:00:00Z' };
    server
      .route('GET', '/v2/members/me/video-rooms/uuid/r%20x', () => json(200, wireRoom({ uuid: 'r x' })))
      .route('GET', '/v2/members/me/video-rooms/7/sessions', () =>
        json(200, { content: [{ sessionNo: 2, startedAt: '2025-01-01T00:00:00Z', endedAt: null, endReason: null, participantCount: 3 }], totalPages: 1, totalElements: 1, numberOfElements: 1, number: 0, size: 20, first: true, last: true, empty: false }),
      )
      .route('GET', '/v2/members/me/video-rooms/7/sessions/2/participants', () =>
        json(200, [{ participantSid: 'PA_1', sessionNo: 2, appUserId: 'bob', memberId: 4, appUserName: 'Bob', channelMemberType: 'MEMBER', customData: null, hidden: false, joinedAt: '2025-01-01T00:00:00Z', leftAt: '2025-01-01T00:10:00Z', leaveReason: 'CLIENT_INITIATED' }]),
      )
      .route('GET', '/v2/members/me/video-rooms/7/participants', () => json(200, [live]))
      .route('POST', '/v2/members/me/video-rooms/7/participants/bob/approve', () => json(200, { ...live, waiting: false, hidden: false, canPublish: true, canSubscribe: true }))
      .route('POST', '/v2/members/me/video-rooms/7/participants/bob/reject', () => json(200, live))
      .route('POST', '/v2/members/me/video-rooms/7/participants/bob/remove', () => json(200, live))
      .route('POST', '/v2/members/me/video-rooms/7/end', () => json(200, wireRoom({ videoRoomState: 'ENDED' })));
    expect((await client.getVideoRoomByUuid('r x')).uuid).toBe('r x');
    const sessions = await client.listVideoRoomSessions(7, { page: 1 });
    expect(sessions.content).toEqual([{ sessionNo: 2, startedAt: new Date('2025-01-01T00:00:00Z'), endedAt: undefined, endReason: undefined, participantCount: 3 }]);
    const attendance = await client.listVideoRoomSessionParticipants(7, 2);
    expect(attendance[0]).toMatchObject({ appUserId: 'bob', memberId: 4, leftAt: new Date('2025-01-01T00:10:00Z'), leaveReason: 'CLIENT_INITIATED' });
    const participants = await client.listVideoRoomParticipants(7);
    expect(participants).toEqual([{ ...live, appUserName: undefined, customData: undefined, joinedAt: new Date('2025-01-01T00:00:00Z') }]);
    expect((await client.approveVideoRoomParticipant(7, 'bob')).waiting).toBe(false);
    expect((await client.rejectVideoRoomParticipant(7, 'bob')).appUserId).toBe('bob');
    expect((await client.removeVideoRoomParticipant(7, 'bob')).appUserId).toBe('bob');
    expect((await client.endVideoRoom(7)).videoRoomState).toBe(FFCVideoRoomState.ENDED);
  });
});

describe('errors', () => {
  it('a JSON error body gives FFCApiError with status, errorCode and errorMessage', async () => {
    server.route('GET', '/v2/members/me/video-rooms/99', () => json(404, { errorCode: 'VIDEO_ROOM_NOT_FOUND', errorMessage: 'no room 99' }));
    const err = await client.getVideoRoom(99).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FFCApiError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(FFCNetworkError);
    expect(err).toMatchObject({ status: 404, errorCode: 'VIDEO_ROOM_NOT_FOUND', errorMessage: 'no room 99', request: 'GET /v2/members/me/video-rooms/99' });
  });

  it('a non-JSON error body gives HTTP_<status> and the start of the text', async () => {
    server.route('GET', '/v2/members/me', () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    await expect(client.getMe()).rejects.toMatchObject({ status: 502, errorCode: 'HTTP_502', errorMessage: '<html>Bad Gateway</html>' });
    server.route('GET', '/v2/members/me', () => new Response('', { status: 500, statusText: 'Internal Server Error' }));
    await expect(client.getMe()).rejects.toMatchObject({ status: 500, errorCode: 'HTTP_500', errorMessage: 'Internal Server Error' });
    server.route('GET', '/v2/members/me', () => json(400, { message: 'json but not ours' }));
    await expect(client.getMe()).rejects.toMatchObject({ status: 400, errorCode: 'HTTP_400' });
  });

  it('an unexpected 2xx status is an error (the official SDK expects exact statuses)', async () => {
    server.route('DELETE', '/v2/members/me/video-rooms/7', () => new Response(null, { status: 204 }));
    await expect(client.deleteVideoRoom(7)).rejects.toMatchObject({ status: 204, errorCode: 'UNEXPECTED_STATUS' });
    server.route('POST', '/v2/members/me/video-rooms', () => json(200, wireRoom()));
    await expect(client.createVideoRoom({ type: FFCVideoRoomType.VIDEO_CONFERENCE })).rejects.toMatchObject({ status: 200, errorCode: 'UNEXPECTED_STATUS' });
  });

  it('a success answer that is not JSON is INVALID_RESPONSE_BODY', async () => {
    server.route('GET', '/v2/members/me', () => new Response('not json', { status: 200 }));
    await expect(client.getMe()).rejects.toMatchObject({ status: 200, errorCode: 'INVALID_RESPONSE_BODY' });
  });

  it('a network failure is an FFCNetworkError (status 0, NETWORK_ERROR) with the cause', async () => {
    const cause = new TypeError('fetch failed');
    const failing = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'x', fetch: () => Promise.reject(cause) });
    const err = await failing.getMe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FFCNetworkError);
    expect(err).toBeInstanceOf(FFCApiError);
    expect(err).toMatchObject({ status: 0, errorCode: 'NETWORK_ERROR', errorMessage: 'fetch failed', cause });
  });

  it('no answer within timeoutMs is an FFCNetworkError TIMEOUT', async () => {
    const hanging = new FlipFlopCloudClient({
      baseUrl: BASE,
      accessToken: 'x',
      timeoutMs: 50,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => {
            reject(new DOMException('aborted', 'AbortError'));
          });
        }),
    });
    await expect(hanging.getMe()).rejects.toMatchObject({ status: 0, errorCode: 'TIMEOUT' });
  });

  it('static calls before init throw SdkNotInitializedError', () => {
    FlipFlopCloud.setClient(undefined);
    expect(() => FlipFlopCloud.getMe()).toThrow(SdkNotInitializedError);
  });
});

describe('several clients, static facade, logging', () => {
  const originalFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = originalFetch;
    vi.restoreAllMocks();
  });

  it('each client sends its own token', async () => {
    server.route('GET', '/v2/members/me', (c) => json(200, { id: c.headers.authorization === 'Bearer a' ? 1 : 2, appUserId: 'u', app: {} }));
    const a = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'a', fetch: server.fetch });
    const b = new FlipFlopCloudClient({ baseUrl: BASE, accessToken: 'b', fetch: server.fetch });
    const [ma, mb] = await Promise.all([a.getMe(), b.getMe()]);
    expect([ma.id, mb.id]).toEqual([1, 2]);
    expect(a.getAccessToken()).toBe('a');
    expect(b.getRefreshToken()).toBeUndefined();
  });

  it('the static class delegates to its default client (global fetch) and logs nothing', async () => {
    globalThis.fetch = server.fetch as typeof fetch;
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    server.route('GET', '/v2/members/me/video-rooms/7', () => json(200, wireRoom()));
    server.route('GET', '/v2/members/me/video-rooms/8', () => json(404, { errorCode: 'VIDEO_ROOM_NOT_FOUND', errorMessage: 'x' }));
    FlipFlopCloud.init(BASE, 'static-token', 'rt');
    FlipFlopCloud.init(BASE, 'static-token', 'rt');
    expect((await FlipFlopCloud.getVideoRoom(7)).id).toBe(7);
    await expect(FlipFlopCloud.getVideoRoom(8)).rejects.toBeInstanceOf(FFCApiError);
    expect(server.calls.map((c) => c.headers.authorization)).toEqual(['Bearer static-token', 'Bearer static-token']);
    expect(FlipFlopCloud.getAccessToken()).toBe('static-token');
    expect(FlipFlopCloud.getRefreshToken()).toBe('rt');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});

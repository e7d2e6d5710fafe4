// A fetch stand-in for the unit tests: routes `METHOD /path` to handlers and records calls.
export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

export type Handler = (call: Call) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export class FakeServer {
  readonly calls: Call[] = [];
  private readonly routes = new Map<string, Handler>();

  route(method: string, path: string, handler: Handler): this {
    this.routes.set(`${method} ${path}`, handler);
    return this;
  }

  callsTo(method: string, path: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path === path);
  }

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const call: Call = {
      method: init.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    this.calls.push(call);
    const handler = this.routes.get(`${call.method} ${call.path}`);
    if (!handler) return json(404, { errorCode: 'NOT_FOUND', errorMessage: `no route ${call.method} ${call.path}` });
    return handler(call);
  };
}

export const BASE = 'http://vroom.test';

/** A room as vroom serializes it. */
export function wireRoom(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 7,
    uuid: 'r-abc',
    state: 'ACTIVE',
    type: 'VIDEO_CONFERENCE',
    videoRoomState: 'LIVE',
    accessLevel: 'PUBLIC',
    app: { id: 1, name: 'dev' },
    member: { id: 3, appUserId: 'alice', appUserName: 'Alice', appUserProfileImgUrl: null },
    creatorType: 'MEMBER',
    creatorId: 3,
    title: 'Standup',
    description: null,
    customType: null,
    customData: { team: 'core' },
    policy: { hasPassword: true, manuallyApproval: false, canAutoRoomCompositeRecording: false },
    scheduledAt: null,
    liveStartedAt: '2025-01-02T03:04:05.123456Z',
    liveEndedAt: null,
    lastSessionNo: 2,
    viewOptions: null,
    createdAt: '2025-01-01T00:00:00Z',
    lastModifiedAt: '2025-01-02T00:00:00Z',
    ...over,
  };
}

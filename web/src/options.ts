// What the page was opened with: the route (embed URL or member URL), the key and the options.

export type LayoutType = 'fixed-grid' | 'scroll';
export type LayoutPosition = 'top' | 'bottom' | 'left' | 'right';

export interface Credentials {
  accessToken: string;
  refreshToken?: string;
  /** For an observer embed: what the server wants back to mint a hidden, subscribe-only token. */
  observerGrant?: string;
  /** The member as the login response had it (name for the pre-join form). */
  memberName?: string;
}

export interface PageOptions {
  kind: 'embed' | 'member' | 'unknown';
  appId: string | null;
  roomUuid: string | null;
  /** The `key` (or `token`) parameter as given; null when absent. */
  rawKey: string | null;
  isObserver: boolean;
  displayName: string | null;
  drawLayoutType: LayoutType;
  drawLayoutPosition: LayoutPosition;
  lang: string | null;
  embedded: boolean;
  /**
   * Adaptive stream (the default): each remote video is received at the size its tile is
   * shown, and not at all while off screen. `adaptiveStream=false` receives every track at
   * full size, for comparison (see bench/ui.sh).
   */
  adaptiveStream: boolean;
}

export function parseLocation(loc: Location): PageOptions {
  const q = new URLSearchParams(loc.search);
  const path = loc.pathname.replace(/\/+$/, '');
  let kind: PageOptions['kind'] = 'unknown';
  let appId: string | null = null;
  let roomUuid: string | null = null;
  const embed = /^\/vicollo-apps\/([^/]+)\/rooms\/join\/([^/]+)$/.exec(path);
  const member = /^\/room\/join\/([^/]+)$/.exec(path);
  if (embed) {
    kind = 'embed';
    appId = decodeURIComponent(embed[1] ?? '');
    roomUuid = decodeURIComponent(embed[2] ?? '');
  } else if (member) {
    kind = 'member';
    roomUuid = decodeURIComponent(member[1] ?? '');
  }
  const layoutType = q.get('drawLayoutType');
  const position = q.get('drawLayoutPosition');
  const observer = (q.get('isObserver') ?? q.get('observer') ?? '').toLowerCase();
  const adaptive = (q.get('adaptiveStream') ?? '').toLowerCase();
  let embedded = false;
  try {
    embedded = window.parent !== window;
  } catch {
    embedded = true;
  }
  return {
    kind,
    appId,
    roomUuid,
    rawKey: q.get('key') ?? q.get('token'),
    isObserver: observer === 'true' || observer === '1',
    displayName: q.get('displayName'),
    drawLayoutType: layoutType === 'fixed-grid' ? 'fixed-grid' : 'scroll',
    drawLayoutPosition: position === 'top' || position === 'left' || position === 'right' ? position : 'bottom',
    lang: q.get('lang'),
    embedded,
    adaptiveStream: adaptive !== 'false' && adaptive !== '0',
  };
}

function base64ToText(b64: string): string | null {
  // Both the standard and the URL-safe alphabet, with or without padding.
  const clean = b64.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return null;
  const padded = clean + '='.repeat((4 - (clean.length % 4)) % 4);
  try {
    const bin = atob(padded);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The key is base64 of the JSON login response (`{accessToken, refreshToken, member, …}`,
 * plus `observerGrant` for an observer embed); a raw access token is accepted too. Returns
 * null when it is neither.
 */
export function decodeKey(raw: string): Credentials | null {
  const key = raw.trim();
  if (!key) return null;
  const text = base64ToText(key);
  if (text !== null && text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isRecord(parsed) || typeof parsed.accessToken !== 'string' || !parsed.accessToken) return null;
    const member = isRecord(parsed.member) ? parsed.member : null;
    const name = member && typeof member.appUserName === 'string' ? member.appUserName : undefined;
    return {
      accessToken: parsed.accessToken,
      refreshToken: typeof parsed.refreshToken === 'string' ? parsed.refreshToken : undefined,
      observerGrant: typeof parsed.observerGrant === 'string' ? parsed.observerGrant : undefined,
      memberName: name,
    };
  }
  // A raw token: a JWT-looking string or at least something without spaces.
  if (/^[A-Za-z0-9._~+/=-]{8,}$/.test(key)) return { accessToken: key };
  return null;
}

// Checking that a webhook really comes from vroom, the way vroom signs it
// (crates/vroom-webhooks/src/sign.rs):
//
//   X-Vroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signingSecret, "<t>.<raw body>")>
//
// The HMAC covers the exact bytes received, so verify before parsing the JSON, and reject an
// old `t` so that a captured delivery cannot be replayed later.

import crypto from 'node:crypto';

/** How far `t` may be from our clock (vroom's own verifier uses the same bound). */
export const MAX_AGE_SECS = 300;

export type Verdict = { ok: true } | { ok: false; why: string };

export function verifySignature(
  secret: string,
  header: string | undefined,
  rawBody: Buffer,
  nowSecs = Math.floor(Date.now() / 1000),
): Verdict {
  if (!header) return { ok: false, why: 'no X-Vroom-Signature header' };
  let t: number | null = null;
  let v1: Buffer | null = null;
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d+$/.test(value)) t = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) v1 = Buffer.from(value, 'hex');
  }
  if (t === null || v1 === null) return { ok: false, why: 'malformed X-Vroom-Signature header' };
  if (Math.abs(nowSecs - t) > MAX_AGE_SECS) return { ok: false, why: 'signature timestamp too old (replay?)' };
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  // Constant-time comparison: both are 32 bytes here.
  if (!crypto.timingSafeEqual(expected, v1)) return { ok: false, why: 'signature mismatch' };
  return { ok: true };
}

/**
 * The optional HTTP Basic credentials vroom sends with every event when the callback was
 * registered with `accessId`/`accessPassword` (FlipFlop Cloud's own way of authenticating to
 * you). The signature is the stronger check; this one is kept for compatibility.
 */
export function checkBasic(header: string | undefined, accessId: string, accessPassword: string): boolean {
  const expected = Buffer.from(`Basic ${Buffer.from(`${accessId}:${accessPassword}`).toString('base64')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

/** The envelope vroom POSTs: `{id, type, app, data, createdAt}` (+ `seq` for room events). */
export interface WebhookEvent {
  id: string;
  type: string;
  app: { id: number; state: string; name: string; defaultRtmpOutputMode: string };
  data: Record<string, unknown>;
  createdAt: string;
  seq?: number | null;
}

export function isWebhookEvent(v: unknown): v is WebhookEvent {
  const e = v as WebhookEvent;
  return typeof v === 'object' && v !== null && typeof e.id === 'string' && typeof e.type === 'string';
}

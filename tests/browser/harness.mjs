// Shared pieces of the browser tests that drive livekit-client through `vroom serve`:
// start vroom on loopback ports, serve livekit-client's ESM bundles and a blank page,
// launch Debian's Chromium with fake devices, join rooms in pages, read stats, wait.
//
// vroom listens on port 0 and the harness reads the address it got from its `--dev` banner,
// which it prints once it is listening and the dev app exists: no port is picked and released
// before vroom binds it, and no health probe stands in for readiness.
// Pages opened here report uncaught errors, console errors and SDK reconnects to the harness;
// `assertClean()` (each test file's afterEach) fails the test that had any.
//
// Every process is started here and killed by PID (`stopAll`); tests run inside a
// loopback-only network namespace (see media.test.mjs).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
export const OUT_DIR = path.join(HERE, 'out');
const VROOM_BIN = path.resolve(REPO_ROOT, process.env.VROOM_BIN ?? 'target/debug/vroom');
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', // without it no ICE candidates exist in a lo-only namespace
  '--autoplay-policy=no-user-gesture-required',
];
export const STEP_TIMEOUT_MS = 30_000;
export const BASIC = 'devkey:devsecret';

/** livekit-client versions under test: the one FlipFlop's web SDK pins, and the newest. */
export const CLIENTS = { old: 'livekit-client-2.9.5', newest: 'livekit-client-2.23.0' };

/**
 * Chromium's fake camera delivers 20 fps, and a healthy path forwards all of it (measured on
 * the 2-core test machine: 18–22 fps over 0.5 s samples, dips to 13 fps while the publisher's
 * CPU is contended). Video counts as flowing at MIN_FPS (60 % of 20) or more, with no freeze,
 * over a settled window (`settledVideo`); a stuttering or 1 fps path clearly fails.
 */
export const MIN_FPS = 12;
/** Whatever the publisher manages, fewer frames than this is not video (see `assertSmoothVideo`). */
export const FLOOR_FPS = 8;

/**
 * A page init script: Chromium's fake camera asked for 640×360 at 20 fps whatever the page
 * requests (the meeting UI captures 720p; several pages encoding 720p simulcast do not fit a
 * shared 2-core machine).
 */
export function smallCamera() {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) return;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => {
    if (c?.video) {
      const base = typeof c.video === 'object' ? c.video : {};
      c = { ...c, video: { ...base, width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 20 } } };
    }
    return real(c);
  };
}

export async function until(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Everything one test file starts: vroom, a static server, a browser. */
export class Harness {
  constructor(name) {
    this.name = name;
    this.vroom = null;
    this.staticServer = null;
    this.context = null;
    this.tempDirs = [];
    this.base = null;
    this.pageBase = null;
    // What pages reported that must fail the test (see `newPage`, `assertClean`).
    this.problems = [];
  }

  /**
   * Starts vroom, the page server and Chromium. `server`: where vroom runs, by default on
   * 127.0.0.1 in this namespace; `{ ip, netnsPid }` runs it in the network namespace of
   * process `netnsPid` (see `Link`), listening and announcing media on `ip`.
   */
  async start({ server } = {}) {
    mkdirSync(OUT_DIR, { recursive: true });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `vroom-${this.name}-data-`));
    const userDir = await mkdtemp(path.join(os.tmpdir(), `vroom-${this.name}-chromium-`));
    this.tempDirs.push(dataDir, userDir);
    const ip = server?.ip ?? '127.0.0.1';
    const log = createWriteStream(path.join(OUT_DIR, `vroom-${this.name}.log`));
    // Port 0 for HTTP: vroom binds a free port itself and prints it (see `readBanner`).
    const args = ['serve', '--dev', '--data-dir', dataDir, '--bind', `${ip}:0`, '--node-ip', ip,
      // Port 0: each media worker binds a free port and announces it.
      '--udp-port', '0', '--log', 'info,vroom_media=debug,vroom_signal=debug'];
    this.vroom = server?.netnsPid
      ? spawn('nsenter', ['-t', String(server.netnsPid), '-n', '--', VROOM_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(VROOM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.vroom.stdout.pipe(log);
    this.vroom.stderr.pipe(log);
    this.base = await readBanner(this.vroom);
    this.staticServer = await startStaticServer();
    this.pageBase = `http://127.0.0.1:${this.staticServer.address().port}`;
    this.context = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium',
      headless: false,
      args: CHROMIUM_ARGS,
      timeout: STEP_TIMEOUT_MS,
    });
  }

  /** Kills what `start` started (by PID) and removes its temporary directories. */
  async stopAll() {
    await this.context?.close().catch(() => {});
    this.staticServer?.close();
    if (this.vroom?.exitCode === null) {
      this.vroom.kill('SIGTERM');
      await Promise.race([new Promise((r) => this.vroom.once('exit', r)), sleep(5000)]);
      if (this.vroom.exitCode === null) this.vroom.kill('SIGKILL');
    }
    for (const dir of this.tempDirs) await rm(dir, { recursive: true, force: true });
  }

  /** Kills vroom at once (for the watchdog and `process.on('exit')`). */
  killNow() {
    if (this.vroom?.exitCode === null) this.vroom.kill('SIGKILL');
  }

  /**
   * Ends the test file after `ms` whatever happens (killing vroom first), and kills vroom
   * when the process exits.
   */
  armWatchdog(ms) {
    const watchdog = setTimeout(() => {
      console.error(`${this.name}.test: hard timeout after ${ms} ms, killing what it started`);
      this.killNow();
      process.exit(1);
    }, ms);
    watchdog.unref();
    process.on('exit', () => this.killNow());
  }

  /** An HTTP call to vroom; returns `{status, body}` (body parsed when JSON). */
  async call(method, urlPath, { basic, bearer, body } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const res = await fetch(`${this.base}${urlPath}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }

  /** Like `call`, asserting a 2xx answer; returns the body. */
  async api(method, urlPath, opts = {}) {
    const { status, body } = await this.call(method, urlPath, opts);
    assert.ok(status >= 200 && status < 300, `${method} ${urlPath} → ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Logs a member in through the server API (`extra`: more login fields); returns the login response. */
  login(appUserId, appUserName, extra = {}) {
    return this.api('POST', '/v2/apps/me/members/login', { basic: BASIC, body: { appUserId, appUserName, ...extra } });
  }

  /**
   * A fresh page whose uncaught errors, fatal console errors and livekit-client reconnects
   * (`Reconnecting`, `SignalReconnecting`, `Reconnected`, reported by `joinInPage`) are
   * recorded as problems of the test; `expectReconnect`: reconnects are not problems;
   * `allowConsoleErrors`: regular expressions of console errors this page may log.
   */
  async newPage(label, { expectReconnect = false, allowConsoleErrors = [] } = {}) {
    const page = await this.context.newPage();
    page.on('pageerror', (e) => this.problem(label, `uncaught ${e.name ?? 'error'}: ${e.message}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Resource errors name their URL only in the location; tokens make URLs long.
      const where = msg.location()?.url;
      const text = `${msg.text()}${where ? ` (${where})` : ''}`.replace(/(access_token|join_request)=[^&\s')]+/g, '$1=…');
      if ([...BENIGN_CONSOLE_ERRORS, ...allowConsoleErrors].some((re) => re.test(text))) return;
      this.problem(label, `console error: ${text}`);
    });
    await page.exposeFunction('vroomTestReport', (event) => {
      if (!expectReconnect) this.problem(label, `livekit-client ${event} (no reconnect was expected)`);
    });
    return page;
  }

  problem(label, what) {
    console.error(`[${label}] ${what}`);
    this.problems.push(`[${label}] ${what}`);
  }

  /** Fails if any page reported a problem since the last call (each test file's afterEach). */
  assertClean() {
    const problems = this.problems.splice(0);
    assert.deepEqual(problems, [], `pages reported problems:\n${problems.join('\n')}`);
  }

  /**
   * One room through the member API, with a page joined to it for each of `ids` (name →
   * appUserId): the first logs in and creates the room, every one gets media credentials and
   * joins with `pkg`. `pages` (name → page) is filled as pages open, so a caller's `finally`
   * closes whatever opened before a failure; `each(name, page)` runs after each join.
   */
  async joinRoom(pkg, ids, title, pages, each = async () => {}) {
    const tokens = {};
    for (const [who, id] of Object.entries(ids)) tokens[who] = (await this.login(id, who)).accessToken;
    const first = Object.keys(ids)[0];
    const room = await this.api('POST', '/v2/members/me/video-rooms', { bearer: tokens[first], body: { title } });
    const version = pkg.replace('livekit-client-', '');
    for (const who of Object.keys(ids)) {
      const creds = await this.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: tokens[who] });
      pages[who] = await this.joinPage(pkg, creds, `${who} ${version}`);
      await each(who, pages[who]);
    }
    return room;
  }

  /**
   * A fresh page (see `newPage`) with livekit-client loaded and connected as `t` (see
   * `joinInPage`). `sockets`: an array that receives the path of every WebSocket the page
   * opens; `roomOptions`: for `new Room()`; `connectOptions`: for `room.connect()`;
   * `recordChannels`: keep every data channel message the page receives (see `joinInPage`);
   * `expectReconnect`, `allowConsoleErrors`: see `newPage`.
   */
  async joinPage(pkg, creds, label, { sockets, roomOptions, connectOptions, expectReconnect, recordChannels, allowConsoleErrors } = {}) {
    const page = await this.newPage(label, { expectReconnect, allowConsoleErrors });
    if (sockets) page.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
    await page.goto(`${this.pageBase}/page.html`);
    await joinInPage(page, {
      lkUrl: `${this.pageBase}/lk/${pkg}/livekit-client.esm.mjs`,
      url: creds.webRtcServerUrl,
      token: creds.webRtcToken,
      roomOptions,
      connectOptions,
      recordChannels,
    });
    return page;
  }
}

// Console errors of a healthy run: the newest client tries `/rtc/v1` (and its validate
// endpoint) first and falls back to `/rtc` when vroom answers 404 (media.test.mjs checks
// that it does).
const BENIGN_CONSOLE_ERRORS = [
  /^WebSocket connection to '[^']*\/rtc\/v1\?[^']*' failed: Error during WebSocket handshake: Unexpected response code: 404\b/,
  /^Failed to load resource: the server responded with a status of 404 \(Not Found\) \(https?:\/\/[^/]+\/rtc\/v1\/validate\?/,
];

// Resolves with vroom's base URL once its `--dev` banner names the server API, which vroom
// prints on stdout after it listens and the dev app exists; rejects if vroom exits first.
function readBanner(child) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`no --dev banner from vroom within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    const onData = (chunk) => {
      seen += chunk;
      const match = seen.match(/^\s*server API:\s+(https?:\/\/\S+?)\/v2\/apps\/me\s/m);
      if (match) done(null, match[1]);
    };
    const onExit = (code, signal) => done(new Error(`vroom exited (${code ?? signal}) before it was ready`));
    function done(err, base) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(base);
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

// Serves a blank page and livekit-client's ESM bundles from node_modules.
function startStaticServer() {
  // An empty icon: no favicon request, no 404 in the console.
  const page = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>vroom test</title></head><body></body></html>';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    const match = url.pathname.match(/^\/lk\/(livekit-client-[0-9.]+)\/livekit-client\.esm\.mjs$/);
    if (match) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(path.join(HERE, 'node_modules', match[1], 'dist', 'livekit-client.esm.mjs')).pipe(res);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// In the page: connect, and keep what happens on `window.t` (subscriptions, participants
// connecting and leaving, data received with its kind and topic, the disconnect reason,
// permission changes, reconnects, the WebSockets opened). Times are Date.now(): every page of the browser shares
// that clock. Reconnects are also reported to the harness (`newPage`).
// `recordChannels`: every message of a data channel the server opens is kept on
// `t.channelMessages` with the channel's label and reliability, its bytes decoded as UTF-8
// (protobuf framing turns into replacement characters, string payloads stay readable).
async function joinInPage(page, { lkUrl, url, token, roomOptions, connectOptions, recordChannels }) {
  await page.evaluate(
    async ({ lkUrl, url, token, roomOptions, connectOptions, recordChannels }) => {
      const LK = await import(lkUrl);
      const t = { LK, subscribed: [], connected: [], left: [], received: [], disconnected: null, permissionChanges: 0, reconnects: [], sockets: [] };
      window.t = t;
      // Every WebSocket the page opens, so that a test can drop its signalling connection.
      const NativeWebSocket = window.WebSocket;
      window.WebSocket = class extends NativeWebSocket {
        constructor(...args) {
          super(...args);
          t.sockets.push(this);
        }
      };
      if (recordChannels) {
        t.channelMessages = [];
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
          constructor(...args) {
            super(...args);
            this.addEventListener('datachannel', ({ channel }) => {
              channel.addEventListener('message', async ({ data }) => {
                const bytes = new Uint8Array(data instanceof Blob ? await data.arrayBuffer() : data);
                const { label, ordered, maxRetransmits } = channel;
                t.channelMessages.push({ label, ordered, maxRetransmits, text: new TextDecoder().decode(bytes) });
              });
            });
          }
        };
      }
      const room = new LK.Room(roomOptions);
      t.room = room;
      const E = LK.RoomEvent;
      room.on(E.TrackSubscribed, (track, pub, participant) => {
        const el = track.attach();
        t.subscribed.push({ kind: track.kind, from: participant.identity, sid: pub.trackSid, track, el });
        el.muted = true;
        document.body.appendChild(el);
      });
      room.on(E.ParticipantConnected, (p) => t.connected.push(p.identity));
      room.on(E.ParticipantDisconnected, (p) => t.left.push({ identity: p.identity, at: Date.now() }));
      room.on(E.DataReceived, (payload, participant, kind, topic) => {
        t.received.push({ text: new TextDecoder().decode(payload), from: participant?.identity, kind, topic });
      });
      room.on(E.Disconnected, (reason) => {
        t.disconnected = { reason: reason ?? null };
      });
      room.on(E.ParticipantPermissionsChanged, (_prev, participant) => {
        if (participant === room.localParticipant) t.permissionChanges += 1;
      });
      for (const name of ['Reconnecting', 'SignalReconnecting', 'Reconnected']) {
        room.on(E[name], () => {
          t.reconnects.push({ event: name, at: Date.now() });
          window.vroomTestReport?.(name);
        });
      }
      await room.connect(url, token, connectOptions);
    },
    { lkUrl, url, token, roomOptions, connectOptions, recordChannels },
  );
}

/**
 * The page's received video (from `from` only, when given): frames decoded, freezes, the
 * widest current frame width, and the stats' timestamp.
 */
export function videoIn(page, from) {
  return page.evaluate(async (from) => {
    const out = { frames: 0, freezes: 0, freezeMs: 0, keyframes: 0, lost: 0, width: 0, at: performance.now() };
    for (const s of window.t.subscribed) {
      if (s.kind !== 'video' || (from && s.from !== from) || !s.track.receiver) continue;
      (await s.track.receiver.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        out.frames += r.framesDecoded ?? 0;
        out.freezes += r.freezeCount ?? 0;
        out.freezeMs += (r.totalFreezesDuration ?? 0) * 1000;
        out.keyframes += r.keyFramesDecoded ?? 0;
        out.lost += r.packetsLost ?? 0;
        out.width = Math.max(out.width, r.frameWidth ?? 0);
      });
    }
    return out;
  }, from ?? null);
}

/** Frames `page` has encoded for its camera: the most of any simulcast layer, and when. */
export function videoOut(page) {
  return page.evaluate(async () => {
    const out = { frames: 0, at: performance.now() };
    for (const pub of window.t.room.localParticipant.videoTrackPublications.values()) {
      (await pub.track?.sender?.getStats())?.forEach((r) => {
        if (r.type === 'outbound-rtp') out.frames = Math.max(out.frames, r.framesEncoded ?? 0);
      });
    }
    return out;
  });
}

/**
 * The page's received video over a settled window: waits until frames decode and the frame
 * width (the simulcast layer) has not changed for `stableMs` (at most `settleTimeoutMs`:
 * then the window starts anyway), then measures `ms`. Returns `{ fps, freezes, frames,
 * widths, … }` of the window (widths: at its start and end), and `sentFps`, the rate the
 * `publisher` page encoded at meanwhile, when given.
 */
export async function settledVideo(page, { from, publisher, ms = 3000, stableMs = 2000, settleTimeoutMs = 20_000 } = {}) {
  await until(`video from ${from ?? 'anyone'} decodes`, async () => (await videoIn(page, from)).frames > 0);
  const settleBy = Date.now() + settleTimeoutMs;
  let last = await videoIn(page, from);
  let stableSince = Date.now();
  while (Date.now() - stableSince < stableMs && Date.now() < settleBy) {
    await sleep(250);
    const now = await videoIn(page, from);
    if (now.width !== last.width || now.frames === last.frames) stableSince = Date.now();
    last = now;
  }
  const [start, sentStart] = await Promise.all([videoIn(page, from), publisher && videoOut(publisher)]);
  await sleep(ms);
  const [end, sentEnd] = await Promise.all([videoIn(page, from), publisher && videoOut(publisher)]);
  const frames = end.frames - start.frames;
  return {
    fps: (frames * 1000) / (end.at - start.at),
    sentFps: publisher ? ((sentEnd.frames - sentStart.frames) * 1000) / (sentEnd.at - sentStart.at) : null,
    freezes: end.freezes - start.freezes,
    freezeMs: Math.round(end.freezeMs - start.freezeMs),
    keyframes: end.keyframes - start.keyframes,
    lost: end.lost - start.lost,
    frames,
    widths: [start.width, end.width],
  };
}

/**
 * Asserts that `page` receives smooth video: a settled window (`settledVideo`) without a
 * freeze, at ≥ MIN_FPS, or at ≥ 60 % of what the `publisher` page encoded meanwhile when
 * that is less (a publisher starved of CPU encodes fewer frames: that is not the path's
 * fault; a healthy one encodes 20 fps, so the bar is MIN_FPS), and never below FLOOR_FPS
 * (a 1 fps stream fails whoever is to blame). On this shared 2-core
 * machine a CPU stall of the publisher or subscriber shows up as a freeze too, so a window
 * that fails is measured again, up to `attempts` windows in all (15 s): a path that
 * stutters or crawls fails every one. Returns the passing window.
 */
export async function assertSmoothVideo(page, who, { attempts = 5, ...opts } = {}) {
  const windows = [];
  for (let i = 0; i < attempts; i += 1) {
    const w = await settledVideo(page, i === 0 ? opts : { ...opts, stableMs: 0 });
    w.wanted = w.sentFps === null ? MIN_FPS : Math.max(FLOOR_FPS, Math.min(MIN_FPS, 0.6 * w.sentFps));
    windows.push(w);
    const sent = w.sentFps === null ? '' : ` (${w.sentFps.toFixed(1)} encoded)`;
    console.log(`${who}: ${w.fps.toFixed(1)} fps${sent}, ${w.freezes} freezes (${w.freezeMs} ms), widths ${w.widths.join('→')}, ${w.keyframes} keyframes, ${w.lost} lost`);
    if (w.fps >= w.wanted && w.freezes === 0) return w;
  }
  const shown = windows.map((w) => `${w.fps.toFixed(1)} fps (want ≥ ${w.wanted.toFixed(1)})/${w.freezes} freezes`).join(', ');
  assert.fail(`${who}: no ${opts.ms ?? 3000} ms window of smooth video without a freeze in ${attempts}: ${shown}`);
}

/** Sum of inbound-rtp counters over the page's subscribed tracks, and the video codecs received. */
export function inboundStats(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, audioPackets: 0, videoCodecs: [] };
    for (const { track } of window.t.subscribed) {
      // An unsubscribed track has no receiver any more.
      if (!track.receiver) continue;
      const stats = await track.receiver.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          out.framesDecoded += s.framesDecoded ?? 0;
          const codec = stats.get(s.codecId)?.mimeType;
          if (codec && !out.videoCodecs.includes(codec)) out.videoCodecs.push(codec);
        }
        if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      });
    }
    return out;
  });
}

/** A loopback HTTP server that records webhook deliveries (raw body and headers). */
export function startReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(200);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, deliveries, url: `http://127.0.0.1:${server.address().port}/hooks` })),
  );
}

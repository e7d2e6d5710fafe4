// The prebuilt meeting UI (web/, built into web/dist and served by vroom at the embed URL)
// driven like a person would, in Debian's Chromium with fake devices (harness.mjs):
//   1. three members open their embed URLs (server API `…/embed-url`), join from the pre-join
//      screen, and each page shows the two others' camera video PLAYING (the <video> of their
//      tile presents new frames); a mic muted with Ctrl+D on one page shows muted on the
//      others; Ctrl+E turns a camera off (initials on the others' tile) and the button back on;
//      a chat message arrives; the pre-join screen's preview and mic meter work, a Korean
//      page (lang=ko) speaks Korean; screenshots of the pre-join, the grid and the Korean grid
//      with chat open;
//   2. a screen share takes the stage on the other pages (focused layout), its frames
//      advance; a manual switch back to the grid sticks; screenshot (ui-focused.png);
//   3. an observer embed (isObserver) sees and plays the others' video with its own audio
//      off, and is neither shown nor counted on the others' pages;
//   4. a 375×740 phone viewport: the controls are inside the viewport and overlap neither
//      each other nor the tiles, no horizontal scroll; screenshot (ui-phone.png); in a
//      window too short for four tiles the grid pages (only the shown page's tiles exist);
//   5. manual approval: a member waits on the waiting screen until the owner admits it from
//      the UI, then its video plays on the owner's page; another one denied sees "rejected";
//      the owner removes the first one from the participant list: "removed";
//   6. a password room: the prompt, a wrong password, then the right one;
//   7. the room ended through the server API shows the end screen with reason "ended";
//   8. the embed inside an iframe of a page on another origin (second loopback server)
//      joins and posts `joined`, `participants` (a count) and `left` to its parent, no token;
//      the same member joining from another tab ends the framed one with reason "duplicate",
//      and leaving shows reason "left";
//   9. a broken key shows the error screen; a denied camera and a missing microphone are
//      explained on the pre-join screen.
// Each screenshot's tile regions are checked for non-blank video (pixel spread of the region
// in the PNG). Every page's requests and WebSockets go to vroom's origin only.
//
// Needs `cd web && npm ci && npm run build` first (a debug vroom reads web/dist at run time).
// Run inside a loopback-only network namespace, from the repo root:
//   unshare -n sh -c 'ip link set lo up && VROOM_BIN=target/debug/vroom node --test --test-concurrency=1 tests/browser/meeting-ui.test.mjs'

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASIC, HERE, Harness, OUT_DIR, smallCamera, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 280_000;
const DIST = path.resolve(HERE, '..', '..', 'web', 'dist', 'index.html');

const h = new Harness('meeting-ui');
h.armWatchdog(HARD_TIMEOUT_MS);

/** Every URL a page asked for that is not on vroom's origin (see `openPage`). */
const foreign = [];
let vroomOrigin = '';
let vroomWs = '';
/** vroom's own origin (the same as vroomOrigin unless MEETING_UI_PROXY). */
let mediaOrigin = '';

async function member(appUserId, appUserName) {
  await h.api('POST', '/v2/apps/me/members', { basic: BASIC, body: { appUserId, appUserName } });
}

async function createRoom(body) {
  return h.api('POST', '/v2/apps/me/video-rooms', { basic: BASIC, body: { title: 'UI test', ...body } });
}

async function embedUrl(roomId, appUserId, opts = {}) {
  const { videoRoomEmbedUrl } = await h.api('POST', `/v2/apps/me/video-rooms/${roomId}/members/${appUserId}/embed-url`, { basic: BASIC, body: opts });
  const url = new URL(videoRoomEmbedUrl);
  if (process.env.MEETING_UI_PROXY) return `${vroomOrigin}${url.pathname}${url.search}`;
  assert.equal(url.origin, vroomOrigin, 'the embed URL is on vroom');
  return url.toString();
}

/** A page (harness `newPage`) whose every request and WebSocket is checked against vroom's origin. */
async function openPage(label, { viewport, allowForeign = [], allowConsoleErrors = [] } = {}) {
  const page = await h.newPage(label, { allowConsoleErrors });
  if (viewport) await page.setViewportSize(viewport);
  // The UI captures 720p; four pages encoding 720p simulcast do not fit this shared 2-core
  // machine, so the fake camera is asked for 640×360 (as media.test.mjs publishes).
  await page.addInitScript(smallCamera);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    const origin = new URL(url).origin;
    if (origin === vroomOrigin || origin === mediaOrigin || allowForeign.some((o) => url.startsWith(o))) return;
    foreign.push(`[${label}] ${url}`);
  });
  page.on('websocket', (ws) => {
    const url = ws.url();
    if (!url.startsWith(vroomWs)) foreign.push(`[${label}] websocket ${url}`);
  });
  return page;
}

/** Opens `url` in a new page and joins from the pre-join screen (`frame`: inside an iframe). */
async function joinEmbed(label, url, { viewport, expect = 'room', allowConsoleErrors } = {}) {
  const page = await openPage(label, { viewport, allowConsoleErrors });
  await page.goto(url);
  await page.locator('[data-screen="prejoin"]').waitFor({ timeout: 20_000 });
  await page.getByTestId('join').click();
  await page.locator(`[data-screen="${expect}"]`).waitFor({ timeout: 20_000 });
  return page;
}

/**
 * Frames the <video> of `identity`'s tile presents over `ms` (requestVideoFrameCallback
 * counts, cross-checked with getVideoPlaybackQuality), on a page or frame.
 */
async function framesPlayed(target, identity, { source = 'camera', ms = 1500 } = {}) {
  // Only the page in front renders, and so presents frames (video frame callbacks).
  await (typeof target.bringToFront === 'function' ? target : target.page()).bringToFront();
  return target.evaluate(
    async ({ identity, source, ms }) => {
      const tile = document.querySelector(`[data-testid="tile"][data-identity="${identity}"][data-source="${source}"]`);
      const video = tile?.querySelector('video');
      if (!video || !video.srcObject) return { callbacks: 0, decoded: 0, width: 0 };
      const q0 = video.getVideoPlaybackQuality().totalVideoFrames;
      let callbacks = 0;
      let handle = 0;
      const onFrame = () => {
        callbacks += 1;
        handle = video.requestVideoFrameCallback(onFrame);
      };
      handle = video.requestVideoFrameCallback(onFrame);
      await new Promise((r) => setTimeout(r, ms));
      video.cancelVideoFrameCallback(handle);
      return { callbacks, decoded: video.getVideoPlaybackQuality().totalVideoFrames - q0, width: video.videoWidth };
    },
    { identity, source, ms },
  );
}

/**
 * Frames a playing tile must present in 1.5 s. The fake camera sends 20 fps; a frozen or
 * unattached video presents 0–1. This machine is shared (2 cores, other builds running), so
 * the bar is low: this proves video advances, smoothness is media.test.mjs's business.
 */
const MIN_FRAMES = 4;

/** Waits until `identity`'s tile plays video on `target` (≥ MIN_FRAMES frames in 1.5 s). */
async function assertPlaying(target, identity, who, opts = {}) {
  let last = null;
  await until(
    `${who}: ${identity}'s ${opts.source ?? 'camera'} video playing`,
    async () => {
      last = await framesPlayed(target, identity, opts);
      return last.callbacks >= MIN_FRAMES && last.decoded >= MIN_FRAMES;
    },
    opts.timeoutMs ?? 30_000,
  ).catch((e) => {
    throw new Error(`${e.message} (last window: ${JSON.stringify(last)})`);
  });
  return last;
}

const t0 = Date.now();
/** Logs a step with the seconds since the file started (to see where the time goes). */
const step = (what) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

const tileAttr = (target, identity, attr, source = 'camera') =>
  target.locator(`[data-testid="tile"][data-identity="${identity}"][data-source="${source}"]`).getAttribute(attr, { timeout: 5000 }).catch(() => null);

/**
 * Screenshots `page` to out/<name>.png and checks each tile with video for non-blank pixels:
 * the PNG is decoded in a blank page's canvas and the middle of every tile (70 % of its width
 * and height, clear of the name and quality badges drawn over the video's bottom corners)
 * must have a luminance spread (standard deviation) of at least 6, no single grey level over
 * 99 % of it and a mean luminance of at least 16. A black or one-colour tile fails, however
 * many badges it shows. Chromium's fake camera is a green field with a turning wedge at its
 * centre (timer and corner marks too at larger sizes): at some angles a frame of a small
 * layer is one green all over (measured sd 0, 100 %), so a tile passes if it looks like
 * video in any of up to SCREENSHOT_TRIES screenshots 700 ms apart (the wedge turns; a blank
 * tile stays blank).
 */
const SCREENSHOT_TRIES = 5;
async function screenshotWithVideo(page, name, { minTiles }) {
  await page.bringToFront();
  // A video just attached (a page turned, a layout changed) shows black until its first frame.
  await until(`${name}: every shown video has a frame`, () =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll('[data-testid="tile"].has-video video')).every((v) => v.readyState >= 2 && v.videoWidth > 0),
    ),
  );
  await sleep(300);
  const boxes = await page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-testid="tile"].has-video video')).map((v) => {
      const r = v.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height, id: v.parentElement?.dataset.identity };
    }),
  );
  assert.ok(boxes.length >= minTiles, `${name}: ${boxes.length} tiles with video, want ≥ ${minTiles}`);
  const file = path.join(OUT_DIR, `${name}.png`);
  const checker = await h.context.newPage();
  const looksLikeVideo = (s) => s.sd >= 6 && s.top <= 0.99 && s.mean >= 16;
  /** Per tile, its stats from a screenshot in which it looked like video, or the latest. */
  const best = new Map();
  try {
    for (let attempt = 0; attempt < SCREENSHOT_TRIES; attempt += 1) {
      if (attempt > 0) await sleep(700);
      const png = await page.screenshot({ path: file });
      const stats = await tileStats(checker, png, boxes);
      const shown = stats.map((s) => `${s.id} sd ${s.sd.toFixed(1)} top ${(s.top * 100).toFixed(1)} %`);
      console.log(`${name}: tile middles ${shown.join(', ')}`);
      for (const st of stats) {
        // By position: a participant can have two tiles (stage and strip).
        if (!best.has(st.i) || !looksLikeVideo(best.get(st.i))) best.set(st.i, st);
      }
      if ([...best.values()].every(looksLikeVideo)) break;
    }
    for (const s of best.values()) {
      assert.ok(
        looksLikeVideo(s),
        `${name}: tile ${s.id} looks blank in ${SCREENSHOT_TRIES} screenshots (mean ${s.mean.toFixed(0)}, sd ${s.sd.toFixed(1)}, top level ${(s.top * 100).toFixed(0)} %)`,
      );
    }
    return [...best.values()];
  } finally {
    await checker.close();
  }
}

/** Luminance mean, spread and commonest level's share of the middle of each box in `png`. */
function tileStats(checker, png, boxes) {
  return checker.evaluate(
      async ({ b64, boxes }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return boxes.map((b, i) => {
          const x = Math.max(0, Math.round(b.x + b.w * 0.15));
          const y = Math.max(0, Math.round(b.y + b.h * 0.15));
          const w = Math.max(1, Math.min(img.width - x, Math.round(b.w * 0.7)));
          const hh = Math.max(1, Math.min(img.height - y, Math.round(b.h * 0.7)));
          const { data } = ctx.getImageData(x, y, w, hh);
          const hist = new Array(256).fill(0);
          let sum = 0;
          let sum2 = 0;
          const n = data.length / 4;
          for (let i = 0; i < data.length; i += 4) {
            const l = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
            hist[l] += 1;
            sum += l;
            sum2 += l * l;
          }
          const mean = sum / n;
          return { i, id: b.id, mean, sd: Math.sqrt(sum2 / n - mean * mean), top: Math.max(...hist) / n };
        });
      },
      { b64: png.toString('base64'), boxes },
    );
}

/**
 * MEETING_UI_PROXY=1: a loopback server in front of vroom that serves web/dist the way vroom
 * does (CSP included) and passes the rest on, to test a fresh UI build with a vroom binary
 * that embeds an older one (rust-embed's debug-embed: debug builds carry web/dist as it was
 * when they were compiled) or none.
 */
function startUiProxy(target) {
  const upstream = new URL(target);
  const dist = path.dirname(DIST);
  const csp = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws://${upstream.host} ${upstream.origin}; frame-ancestors *`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const isPage = /^\/vicollo-apps\/[^/]+\/rooms\/join\/[^/]+$|^\/room\/join\/[^/]+$/.test(url.pathname);
    if (isPage || url.pathname.startsWith('/ui/')) {
      const file = isPage ? path.join(dist, 'index.html') : path.join(dist, url.pathname.slice(4));
      if (!file.startsWith(dist) || !existsSync(file)) {
        res.writeHead(404);
        res.end();
        return;
      }
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html; charset=utf-8';
      res.writeHead(200, { 'content-type': type, ...(isPage ? { 'content-security-policy': csp } : {}) });
      res.end(readFileSync(file));
      return;
    }
    const fwd = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(Number(upstream.port), upstream.hostname, () => {
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A second origin: a parent page that frames `src` and keeps the messages it posts. */
function startParentServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/parent.html') {
      res.writeHead(404);
      res.end();
      return;
    }
    const src = url.searchParams.get('src') ?? '';
    const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>customer page</title></head>
<body><h1>Customer app</h1>
<iframe id="meeting" width="960" height="600" allow="camera; microphone; display-capture; fullscreen" src="${src.replace(/"/g, '&quot;')}"></iframe>
<script>window.events = []; window.addEventListener('message', (e) => { if (e.data && e.data.source === 'vroom') window.events.push({ origin: e.origin, data: e.data }); });</script>
</body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('prebuilt meeting UI', () => {
  let room;
  const pages = {};
  let parentServer = null;
  let uiProxy = null;

  before(async () => {
    assert.ok(existsSync(DIST), `build the UI first: cd web && npm ci && npm run build (${DIST} is missing)`);
    await h.start();
    vroomOrigin = new URL(h.base).origin;
    vroomWs = vroomOrigin.replace(/^http/, 'ws');
    mediaOrigin = vroomOrigin;
    if (process.env.MEETING_UI_PROXY) {
      uiProxy = await startUiProxy(h.base);
      vroomOrigin = `http://127.0.0.1:${uiProxy.address().port}`;
    }
    for (const [id, name] of [
      ['alice', 'Alice Kim'],
      ['bob', 'Bob Lee'],
      ['carol', 'Carol Park'],
      ['dave', 'Dave Observer'],
      ['erin', 'Erin Phone'],
      ['frank', 'Frank Frame'],
    ]) {
      await member(id, name);
    }
    room = await createRoom({ appUserId: 'alice', title: 'Weekly sync' });
    // The page vroom serves at the embed path: built into this binary, and the same build as
    // web/dist (release builds, and debug builds with rust-embed's debug-embed, carry the
    // files they were compiled with).
    const served = await fetch(`${vroomOrigin}/vicollo-apps/1/rooms/join/${room.uuid}`);
    const html = await served.text();
    assert.equal(served.status, 200, `vroom serves no meeting UI (${served.status}): build web/ before vroom, or run with MEETING_UI_PROXY=1`);
    const script = (text) => text.match(/src="(\/ui\/assets\/[^"]+\.js)"/)?.[1];
    if (script(html) !== script(readFileSync(DIST, 'utf8'))) {
      console.log(`warning: vroom serves ${script(html)}, web/dist has ${script(readFileSync(DIST, 'utf8'))}: this binary carries an older UI build`);
    }
  });

  after(async () => {
    parentServer?.close();
    uiProxy?.close();
    await h.stopAll();
  });

  afterEach(() => {
    h.assertClean();
    const outside = foreign.splice(0);
    assert.deepEqual(outside, [], `pages requested something outside vroom:\n${outside.join('\n')}`);
  });

  it('three pages join through embed URLs, play each other, see a mute and a chat message', async () => {
    // alice's pre-join screen: her preview plays, the mic meter moves (the fake microphone
    // beeps), the name is her member name.
    const alice = await openPage('alice');
    await alice.goto(await embedUrl(room.id, 'alice'));
    await alice.locator('[data-screen="prejoin"]').waitFor({ timeout: 20_000 });
    assert.equal(await alice.getByTestId('name').inputValue(), 'Alice Kim');
    await until('the preview plays', () =>
      alice.getByTestId('preview').evaluate((v) => v.getVideoPlaybackQuality().totalVideoFrames > 5),
    );
    await until('the mic meter moves', async () => Number(await alice.getByTestId('mic-meter').getAttribute('data-level')) > 0);
    await alice.screenshot({ path: path.join(OUT_DIR, 'ui-prejoin.png') });
    await alice.getByTestId('join').click();
    await alice.locator('[data-screen="room"]').waitFor({ timeout: 20_000 });
    pages.alice = alice;
    pages.bob = await joinEmbed('bob', await embedUrl(room.id, 'bob'));
    // carol's page in Korean (lang=ko), with a display name.
    const carolUrl = `${await embedUrl(room.id, 'carol', { displayName: 'Carol P.' })}&lang=ko`;
    const carol = await openPage('carol');
    await carol.goto(carolUrl);
    await carol.locator('[data-screen="prejoin"]').waitFor({ timeout: 20_000 });
    assert.equal((await carol.getByTestId('join').textContent()).trim(), '지금 입장');
    assert.equal(await carol.evaluate(() => document.documentElement.lang), 'ko');
    assert.equal(await carol.getByTestId('name').inputValue(), 'Carol P.');
    await carol.getByTestId('join').click();
    await carol.locator('[data-screen="room"]').waitFor({ timeout: 20_000 });
    pages.carol = carol;
    for (const [id, page] of Object.entries(pages)) {
      for (const other of Object.keys(pages).filter((o) => o !== id)) {
        const w = await assertPlaying(page, other, id);
        console.log(`${id} plays ${other}: ${w.callbacks} frames in 1.5 s, ${w.width} px wide`);
      }
      await until(`${id} counts 3`, async () => (await page.getByTestId('count').textContent()).trim() === '3');
    }
    // The display name option names carol on the others' tiles.
    await until('carol is named from displayName', async () =>
      (await pages.alice.locator('[data-testid="tile"][data-identity="carol"] .tile-name').textContent()).includes('Carol P.'),
    );

    // Ctrl+D on bob's page mutes his microphone; the others see it.
    assert.equal(await tileAttr(pages.alice, 'bob', 'data-muted-mic'), 'false');
    await pages.bob.locator('body').click({ position: { x: 5, y: 5 } }).catch(() => {});
    await pages.bob.keyboard.press('Control+d');
    for (const id of ['alice', 'carol']) {
      await until(`${id} sees bob muted`, async () => (await tileAttr(pages[id], 'bob', 'data-muted-mic')) === 'true');
    }
    await pages.bob.getByTestId('toggle-mic').click();
    await until('alice sees bob unmuted', async () => (await tileAttr(pages.alice, 'bob', 'data-muted-mic')) === 'false');
    // Ctrl+E turns his camera off: his tile shows his initials; the button brings it back.
    await pages.bob.keyboard.press('Control+e');
    await until('alice sees bob without video', async () => !(await tileAttr(pages.alice, 'bob', 'class')).includes('has-video'));
    assert.equal((await pages.alice.locator('[data-testid="tile"][data-identity="bob"] .avatar').textContent()).trim(), 'BL');
    await pages.bob.getByTestId('toggle-camera').click();
    await assertPlaying(pages.alice, 'bob', 'alice (bob camera back)');

    // Chat: alice writes, bob and carol read it.
    await pages.alice.getByTestId('open-chat').click();
    await pages.alice.getByTestId('chat-input').fill('hello from alice');
    await pages.alice.getByTestId('chat-send').click();
    for (const id of ['bob', 'carol']) {
      await until(`${id} has an unread badge`, async () => (await pages[id].locator('[data-testid="open-chat"] .badge').count()) === 1);
      await pages[id].getByTestId('open-chat').click();
      await until(`${id} reads alice's message`, async () =>
        (await pages[id].getByTestId('chat-list').textContent()).includes('hello from alice'),
      );
    }
    // carol's Korean page with the chat panel open (the artifact shows the Korean labels).
    await screenshotWithVideo(pages.carol, 'ui-grid-ko', { minTiles: 3 });
    for (const id of ['alice', 'bob', 'carol']) await pages[id].getByTestId('open-chat').click(); // close the panel

    await sleep(500);
    await screenshotWithVideo(pages.alice, 'ui-grid', { minTiles: 3 });
  });

  it('a screen share takes the stage; a manual layout choice sticks', async () => {
    await pages.bob.getByTestId('toggle-screen').click();
    for (const id of ['alice', 'carol']) {
      const page = pages[id];
      await page.locator('[data-testid="stage"] [data-testid="tile"][data-identity="bob"][data-source="screen"]').waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('.stage-area').getAttribute('data-layout'), 'focus');
      await assertPlaying(page, 'bob', `${id} (screen)`, { source: 'screen' });
    }
    // The strip keeps the cameras playing.
    await assertPlaying(pages.alice, 'carol', 'alice (strip)');
    await sleep(300);
    await screenshotWithVideo(pages.alice, 'ui-focused', { minTiles: 3 });

    // Carol picks the grid by hand: it stays while the share goes on and after it stops.
    await pages.carol.getByTestId('toggle-layout').click();
    assert.equal(await pages.carol.locator('.stage-area').getAttribute('data-layout'), 'grid');
    await pages.bob.getByTestId('toggle-screen').click();
    await until('alice goes back to the grid by herself', async () => (await pages.alice.locator('.stage-area').getAttribute('data-layout')) === 'grid');
    await pages.bob.getByTestId('toggle-screen').click();
    await until('alice focuses the new share', async () => (await pages.alice.locator('.stage-area').getAttribute('data-layout')) === 'focus');
    await sleep(1000);
    assert.equal(await pages.carol.locator('.stage-area').getAttribute('data-layout'), 'grid', 'the manual choice sticks');
    await pages.bob.getByTestId('toggle-screen').click();
    await until('the share ends on alice', async () => (await pages.alice.locator('[data-source="screen"]').count()) === 0);
  });

  it('an observer sees everyone, is not listed or counted, and starts with audio off', async () => {
    const dave = await joinEmbed('dave', await embedUrl(room.id, 'dave', { isObserver: true }));
    for (const other of ['alice', 'bob', 'carol']) await assertPlaying(dave, other, 'dave (observer)');
    assert.equal(await dave.getByTestId('toggle-camera').count(), 0, 'an observer has no camera button');
    const audio = await dave.evaluate(() => Array.from(document.querySelectorAll('[data-testid="remote-audio"]')).map((a) => a.muted));
    assert.ok(audio.length >= 1 && audio.every(Boolean), `remote audio muted at first: ${audio}`);
    await dave.getByTestId('toggle-audio').click();
    assert.ok(await dave.evaluate(() => Array.from(document.querySelectorAll('[data-testid="remote-audio"]')).every((a) => !a.muted)));
    await sleep(2000);
    for (const id of ['alice', 'bob', 'carol']) {
      assert.equal(await pages[id].locator('[data-identity="dave"]').count(), 0, `${id} shows no dave`);
      assert.equal((await pages[id].getByTestId('count').textContent()).trim(), '3', `${id} counts 3`);
    }
    await pages.alice.getByTestId('open-participants').click();
    const listed = await pages.alice.getByTestId('participant-entry').evaluateAll((els) => els.map((e) => e.dataset.identity));
    assert.deepEqual(listed.sort(), ['alice', 'bob', 'carol']);
    await pages.alice.getByTestId('open-participants').click();
    await dave.close();
  });

  it('a 375×740 phone renders without overlapping controls', async () => {
    const erin = await joinEmbed('erin', await embedUrl(room.id, 'erin'), { viewport: { width: 375, height: 740 } });
    for (const other of ['alice', 'bob']) await assertPlaying(erin, other, 'erin (phone)');
    const layout = await erin.evaluate(() => {
      const rect = (el) => {
        const r = el.getBoundingClientRect();
        return { l: r.left, t: r.top, r: r.right, b: r.bottom };
      };
      return {
        controls: Array.from(document.querySelectorAll('.controls button')).map((b) => ({ id: b.dataset.testid, ...rect(b) })),
        bar: rect(document.querySelector('.controls')),
        tiles: Array.from(document.querySelectorAll('[data-testid="tile"]')).map((t) => ({ id: t.dataset.identity, ...rect(t) })),
        scrollWidth: document.documentElement.scrollWidth,
        vw: window.innerWidth,
        vh: window.innerHeight,
      };
    });
    const overlap = (a, b) => a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5;
    assert.ok(layout.scrollWidth <= layout.vw, `no horizontal scroll (${layout.scrollWidth} > ${layout.vw})`);
    for (const c of layout.controls) {
      assert.ok(c.l >= 0 && c.r <= layout.vw && c.t >= 0 && c.b <= layout.vh, `${c.id} inside the viewport: ${JSON.stringify(c)}`);
      assert.ok(c.r - c.l >= 36 && c.b - c.t >= 36, `${c.id} big enough to tap`);
      for (const d of layout.controls) if (c !== d) assert.ok(!overlap(c, d), `${c.id} overlaps ${d.id}`);
      for (const tile of layout.tiles) assert.ok(!overlap(c, tile), `${c.id} overlaps ${tile.id}'s tile`);
    }
    for (const tile of layout.tiles) assert.ok(tile.b <= layout.bar.t + 0.5, `${tile.id}'s tile is above the controls`);
    await screenshotWithVideo(erin, 'ui-phone', { minTiles: 3 });

    // A window too short for four tiles at a readable size (a small embedded widget): the grid
    // pages, and only the shown page's tiles exist (so only their video is attached, and with
    // adaptive stream only that is received).
    await erin.setViewportSize({ width: 375, height: 300 });
    const total = 4;
    await until(`erin counts ${total}`, async () => (await erin.getByTestId('count').textContent()).trim() === String(total));
    await until('a pager', async () => (await erin.getByTestId('pager').count()) === 1);
    const perPage = Number(await erin.locator('.grid-area').getAttribute('data-per-page'));
    assert.ok(perPage >= 1 && perPage < total, `a small window holds fewer tiles than people (${perPage})`);
    const pages = Math.ceil(total / perPage);
    assert.match(await erin.getByTestId('pager').textContent(), new RegExp(`1 of ${pages}`));
    const firstPage = await erin.getByTestId('tile').evaluateAll((els) => els.map((e) => e.dataset.identity));
    assert.equal(firstPage.length, perPage, 'only the tiles of one page exist');
    await erin.getByRole('button', { name: 'Next page' }).click();
    const secondPage = await erin.getByTestId('tile').evaluateAll((els) => els.map((e) => e.dataset.identity));
    assert.equal(secondPage.length, Math.min(perPage, total - perPage));
    assert.ok(secondPage.every((id) => !firstPage.includes(id)), 'the second page shows the others');
    await erin.screenshot({ path: path.join(OUT_DIR, 'ui-phone-page2.png') });
    await erin.close();
  });

  it('manual approval: the owner admits from the UI, a denied member sees why', async () => {
    for (const id of ['bob', 'carol']) await pages[id]?.close();
    const gated = await createRoom({ appUserId: 'alice', title: 'Gated', manuallyApproval: true });
    step('gated room created');
    const owner = await joinEmbed('alice/gated', await embedUrl(gated.id, 'alice'));
    step('owner in');
    const bob = await joinEmbed('bob/gated', await embedUrl(gated.id, 'bob'), { expect: 'waiting' });
    step('bob waiting');
    await bob.screenshot({ path: path.join(OUT_DIR, 'ui-waiting.png') });
    await owner.locator('[data-testid="waiting-banner"]').waitFor({ timeout: 10_000 });
    step('owner sees bob waiting');
    assert.equal(await owner.locator('[data-testid="tile"][data-identity="bob"]').count(), 0, 'a waiting member is not shown');
    await owner.locator('[data-testid="waiting-banner"] [data-testid="approve"]').click();
    await bob.locator('[data-screen="room"]').waitFor({ timeout: 15_000 });
    step('bob admitted');
    await assertPlaying(owner, 'bob', 'alice (after approval)');
    await assertPlaying(bob, 'alice', 'bob (after approval)');
    step('both play');

    const carol = await joinEmbed('carol/gated', await embedUrl(gated.id, 'carol'), { expect: 'waiting' });
    await owner.getByTestId('open-participants').click();
    await owner.locator('[data-testid="waiting-entry"][data-identity="carol"] [data-testid="reject"]').click();
    await carol.locator('[data-screen="ended"][data-reason="rejected"]').waitFor({ timeout: 10_000 });
    step('carol rejected');
    // The owner removes bob from the participant list (with a confirmation).
    await owner.locator('[data-testid="participant-entry"][data-identity="bob"] [data-testid="remove"]').click();
    await owner.getByTestId('confirm-ok').click();
    await bob.locator('[data-screen="ended"][data-reason="removed"]').waitFor({ timeout: 10_000 });
    await until('bob gone from the owner\'s grid', async () => (await owner.locator('[data-testid="tile"][data-identity="bob"]').count()) === 0);
    for (const p of [owner, bob, carol]) await p.close();
    await pages.alice?.close();
  });

  it('a password room asks for it, refuses a wrong one, admits the right one; ending it shows the end screen', async () => {
    const locked = await createRoom({ appUserId: 'alice', title: 'Locked', password: 'sesame' });
    const bob = await joinEmbed('bob/locked', await embedUrl(locked.id, 'bob'), {
      expect: 'password',
      // The refused media credentials (403 VIDEO_ROOM_PASSWORD_MISMATCH) show in the console.
      allowConsoleErrors: [/status of 403\b.*web-rtc-tokens/],
    });
    await bob.getByTestId('password').fill('wrong');
    await bob.getByTestId('password-submit').click();
    await bob.getByTestId('password-wrong').waitFor({ timeout: 10_000 });
    assert.equal(await bob.locator('.app').getAttribute('data-screen'), 'password');
    await bob.getByTestId('password').fill('sesame');
    await bob.getByTestId('password-submit').click();
    await bob.locator('[data-screen="room"]').waitFor({ timeout: 15_000 });

    const lateUrl = await embedUrl(locked.id, 'carol');
    await h.api('POST', `/v2/apps/me/video-rooms/${locked.id}/end`, { basic: BASIC });
    await bob.locator('[data-screen="ended"][data-reason="ended"]').waitFor({ timeout: 10_000 });
    assert.match(await bob.getByTestId('end-text').textContent(), /ended/i);
    await bob.close();
    // Its embed URL now says the meeting is over before any pre-join.
    const late = await openPage('late');
    await late.goto(lateUrl);
    await late.locator('[data-screen="error"][data-reason="errRoomEnded"]').waitFor({ timeout: 10_000 });
    await late.close();
  });

  it('works inside an iframe on another origin and posts its events to the parent', async () => {
    parentServer = await startParentServer();
    const parentOrigin = `http://127.0.0.1:${parentServer.address().port}`;
    assert.notEqual(parentOrigin, vroomOrigin);
    const framed = await createRoom({ appUserId: 'alice', title: 'Framed' });
    const alice = await joinEmbed('alice/framed', await embedUrl(framed.id, 'alice'), {
      // When frank's second tab replaces his first (same identity), livekit-client on alice's
      // page may see the new session's track before its participant update and logs this.
      allowConsoleErrors: [/^Tried to add a track for a participant, that's not present/],
    });
    const src = await embedUrl(framed.id, 'frank', { displayName: 'Frank' });
    const parent = await openPage('parent', { allowForeign: [parentOrigin] });
    await parent.goto(`${parentOrigin}/parent.html?src=${encodeURIComponent(src)}`);
    const frame = parent.frameLocator('#meeting');
    await frame.locator('[data-screen="prejoin"]').waitFor({ timeout: 20_000 });
    await frame.getByTestId('join').click();
    await frame.locator('[data-screen="room"]').waitFor({ timeout: 20_000 });
    const inner = parent.frames().find((f) => f.url().startsWith(vroomOrigin));
    await assertPlaying(inner, 'alice', 'frank (in the iframe)');
    await assertPlaying(alice, 'frank', 'alice (frank framed)');

    const events = () => parent.evaluate(() => window.events);
    await until('joined and participants posted', async () => {
      const e = await events();
      return e.some((x) => x.data.type === 'joined') && e.some((x) => x.data.type === 'participants' && x.data.count === 2);
    });
    // frank opens the meeting again in another tab: the framed one is told why it is out.
    const again = await joinEmbed('frank/again', src);
    await frame.locator('[data-screen="ended"][data-reason="duplicate"]').waitFor({ timeout: 10_000 });
    await until('left posted', async () => (await events()).some((x) => x.data.type === 'left' && x.data.reason === 'duplicate'));
    await again.getByTestId('leave').click();
    await again.locator('[data-screen="ended"][data-reason="left"]').waitFor({ timeout: 10_000 });
    await again.screenshot({ path: path.join(OUT_DIR, 'ui-ended.png') });
    await again.close();
    const all = await events();
    assert.ok(all.every((x) => x.origin === vroomOrigin), 'posted by the vroom frame');
    const text = JSON.stringify(all);
    assert.ok(!/accessToken|webRtcToken|eyJ/.test(text), `no token in the events: ${text}`);
    writeFileSync(path.join(OUT_DIR, 'ui-iframe-events.json'), JSON.stringify(all, null, 2));
    for (const p of [parent, alice]) await p.close();
  });

  it('a broken key shows the error screen', async () => {
    const page = await openPage('bad-key');
    const unauthorized = { allowConsoleErrors: [/status of 401\b.*\/v2\/members\/me/] };
    await page.goto(`${vroomOrigin}/vicollo-apps/1/rooms/join/${room.uuid}?key=not%20a%20key`);
    await page.locator('[data-screen="error"][data-reason="errKeyInvalid"]').waitFor({ timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${e.message}\n${await page.content()}`);
    });
    const expired = await openPage('unknown-token', unauthorized);
    await expired.goto(`${vroomOrigin}/vicollo-apps/1/rooms/join/${room.uuid}?key=eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl`);
    await expired.locator('[data-screen="error"]').waitFor({ timeout: 10_000 });
    for (const p of [page, expired]) await p.close();
  });

  it('the pre-join screen says when the camera is denied and no microphone exists', async () => {
    const page = await openPage('no-devices');
    await page.addInitScript(() => {
      const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = (c) => {
        if (c?.video) return Promise.reject(new DOMException('denied by the test', 'NotAllowedError'));
        if (c?.audio) return Promise.reject(new DOMException('none in the test', 'NotFoundError'));
        return real(c);
      };
    });
    await page.goto(await embedUrl(room.id, 'erin'));
    await page.locator('[data-screen="prejoin"]').waitFor({ timeout: 20_000 });
    await until('both device messages', async () => (await page.getByTestId('camera-error').count()) === 1 && (await page.getByTestId('mic-error').count()) === 1);
    assert.match(await page.getByTestId('camera-error').textContent(), /denied/i);
    assert.match(await page.getByTestId('mic-error').textContent(), /no microphone/i);
    assert.equal(await page.getByTestId('prejoin-camera').getAttribute('aria-pressed'), 'true', 'the camera is off');
    await page.close();
  });
});

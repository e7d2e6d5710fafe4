// A subscriber behind a slow link gets the simulcast layer its link carries, chosen from the
// server's bandwidth estimate (transport-wide congestion control on its connection), and
// climbs to the best layer when the link opens up.
//
// vroom runs in a network namespace of its own, joined to the test's by a veth pair
// (`netlink.mjs`); the server side of the pair is shaped with `tc tbf`, which limits
// everything vroom sends (what the publisher sends it is not limited). For each client
// version, alice publishes the fake camera at 1280×720 with simulcast (320, 640 and 1280
// wide) and bob subscribes:
//   1. with the link at SLOW_KBIT, bob must settle on the 360p layer (640 wide: every sample
//      of the settled window), decode at MIN_FPS or more over that window, lose at most
//      MAX_LOST packets, and never be given 720p again once on 360p;
//   2. with the link unshaped, bob must reach the 720p layer;
//   3. shaped again, bob must fall back and settle on 360p again, decoding at MIN_FPS, with
//      at most MAX_LOST packets lost over the whole run, and stay below 720p.
// Then the README's other half: the same slow link with vroom started with
// `--bwe-start-kbps 0` (estimation off, layers follow loss only) must NOT pass phase 1's
// checks: without the estimate the subscriber is sent 720p until packets are lost, moved down
// by the loss, and sent 720p again after 10 s without loss.
//
// Run it as root inside a network namespace of its own (scripts/test.sh does): it creates the
// server's namespace (held by a `sleep` it kills at the end) and the veth pair inside it.
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENTS, Harness, until } from './harness.mjs';
import { Link } from './netlink.mjs';

const HARD_TIMEOUT_MS = 660_000;
/** The slow link: between what the 360p and the 720p layers of the fake camera need. */
const SLOW_KBIT = 600;
/** The widths of the fake camera's 180p, 360p and 720p layers (bob must settle on 640). */
const NOMINAL_WIDTHS = [320, 640, 1280];
/** Samples (one a second) at the end of a slow phase that must all be 360p. */
const SETTLED_SAMPLES = 8;
/**
 * Frame rate over the settled window that counts as "keeps decoding": the fake camera's
 * 360p layer arrives at about 20 fps over the slow link on the 2-core test machine (12–13
 * with other media tests running on it); a stuck decoder's 0–2 fps fails.
 */
const MIN_FPS = 8;
/**
 * Packets bob may lose in a run (the slow phase, the climb and the fall back): measured 0–22
 * with the estimate on, 48 once (most of it when the open link narrows again, before the
 * estimate falls); with it off the first slow phase alone loses 96–233.
 */
const MAX_LOST = 64;

const link = new Link('vbw');
const h = new Harness('bandwidth');
/** vroom with estimation off (`--bwe-start-kbps 0`, through its environment variable). */
const off = new Harness('bandwidth-bwe-off');

h.armWatchdog(HARD_TIMEOUT_MS);
off.armWatchdog(HARD_TIMEOUT_MS);
process.on('exit', () => link.close());

/** Bob's received video: frames decoded, the current frame width, packets lost, when. */
function video(page) {
  return page.evaluate(async () => {
    const out = { frames: 0, width: 0, lost: 0, at: performance.now() };
    for (const { kind, track } of window.t.subscribed) {
      if (kind !== 'video' || !track.receiver) continue;
      (await track.receiver.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        out.frames += s.framesDecoded ?? 0;
        out.width = Math.max(out.width, s.frameWidth ?? 0);
        out.lost += s.packetsLost ?? 0;
      });
    }
    return out;
  });
}

/**
 * The widths alice's simulcast layers are sent at now, lowest layer first (Chromium may
 * scale a layer down when the machine is busy, so the layer bob receives is told by
 * comparing with these, not by a fixed width alone).
 */
function layerWidths(page) {
  return page.evaluate(async () => {
    const widths = [];
    for (const pub of window.t.room.localParticipant.trackPublications.values()) {
      if (pub.kind !== 'video' || !pub.track?.sender) continue;
      (await pub.track.sender.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.frameWidth) widths.push(s.frameWidth);
      });
    }
    return widths.sort((a, b) => a - b);
  });
}

/** One sample: bob's video, and which of alice's layers (0 = 180p … 2 = 720p) it is. */
async function sample(pageA, pageB) {
  const [v, layers] = await Promise.all([video(pageB), layerWidths(pageA)]);
  // Three distinct widths tell the layers apart; otherwise the fake camera's nominal ones do.
  const known = layers.length === 3 && new Set(layers).size === 3 ? layers : NOMINAL_WIDTHS;
  return { ...v, layers, layer: known.indexOf(v.width) };
}

function log(label, samples) {
  console.log(
    `${label}: widths ${samples.map((s) => s.width).join(' ')}; layers ${samples.map((s) => s.layer).join(' ')}; ` +
      `alice's layers ${[...new Set(samples.map((s) => s.layers.join('/')))].join(', ')}; ` +
      `frames ${samples[0].frames}→${samples.at(-1).frames}; lost ${samples.at(-1).lost}`,
  );
}

/** Samples once a second for `seconds`; returns the samples. */
async function watch(pageA, pageB, seconds, label) {
  const samples = [];
  for (let i = 0; i < seconds; i += 1) {
    await sleep(1000);
    samples.push(await sample(pageA, pageB));
  }
  log(label, samples);
  return samples;
}

/**
 * Samples once a second for at least `minSeconds`, and on (up to `maxSeconds`) until the last
 * SETTLED_SAMPLES are all on the 360p layer; returns those last samples, judged.
 */
async function settle(pageA, pageB, minSeconds, maxSeconds, label) {
  const samples = [];
  const settled = () => samples.length >= SETTLED_SAMPLES && samples.slice(-SETTLED_SAMPLES).every(on360p);
  while (samples.length < minSeconds || (!settled() && samples.length < maxSeconds)) {
    await sleep(1000);
    samples.push(await sample(pageA, pageB));
  }
  log(label, samples);
  const j = judge(samples.slice(-SETTLED_SAMPLES));
  // Once on 360p, a slow link must not be given 720p again (an upgrade is tested first).
  const first360p = samples.findIndex(on360p);
  j.backTo720p = first360p >= 0 && samples.slice(first360p).some((s) => s.layer === 2);
  console.log(`${label}, settled window: ${describeWindow(j)}`);
  return j;
}

/** Bob receives alice's 360p layer, 640 wide unless Chromium scaled alice's layers down. */
function on360p(s) {
  return s.layer === 1;
}

/** What a settled window shows: all on 360p, its frame rate, the packets lost so far. */
function judge(window) {
  const [first, last] = [window[0], window.at(-1)];
  const fps = ((last.frames - first.frames) * 1000) / (last.at - first.at);
  return {
    widths: window.map((s) => s.width),
    layers: window.map((s) => s.layer),
    on360p: window.every(on360p),
    fps,
    decoding: fps >= MIN_FPS,
    lost: Math.max(...window.map((s) => s.lost)),
  };
}

function describeWindow(j) {
  return `widths ${j.widths.join(' ')} (layers ${j.layers.join(' ')}), ${j.fps.toFixed(1)} fps, ${j.lost} lost` +
    (j.backTo720p === undefined ? '' : `, ${j.backTo720p ? '' : 'not '}back to 720p after 360p`);
}

/** The checks a slow phase must pass. */
function passes(j) {
  return j.on360p && j.decoding && j.lost <= MAX_LOST && !j.backTo720p;
}

/**
 * Joins alice (publishing 720p with simulcast) and bob to a new room of `harness` over the
 * slow link and waits until bob decodes; returns the pages.
 */
async function slowRoom(harness, pkg, tag) {
  const alice = await harness.login(`bw-alice-${tag}`, 'Alice');
  const bob = await harness.login(`bw-bob-${tag}`, 'Bob');
  const room = await harness.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: 'bandwidth' } });
  const creds = (who) => harness.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken });
  link.shape(SLOW_KBIT);
  const pageA = await harness.joinPage(pkg, await creds(alice), 'alice');
  await pageA.evaluate(async () => {
    await window.t.room.localParticipant.setCameraEnabled(true, { resolution: { width: 1280, height: 720, frameRate: 30 } });
  });
  const pageB = await harness.joinPage(pkg, await creds(bob), 'bob');
  await until('bob decodes alice', async () => (await video(pageB)).frames > 0);
  return { pageA, pageB };
}

describe('simulcast layers follow the bandwidth estimate over a shaped link', () => {
  before(async () => {
    await link.create();
    await h.start({ server: link.server });
  });

  after(async () => {
    await h.stopAll();
    await off.stopAll();
    link.close();
  });

  // Page errors and SDK reconnects fail the test that had them (see the harness).
  afterEach(() => {
    h.assertClean();
    off.assertClean();
  });

  for (const pkg of [CLIENTS.old, CLIENTS.newest].filter((p) => !process.env.BW_ONLY || p.includes(process.env.BW_ONLY))) {
    it(`${pkg}: slow link → 360p, open link → 720p, slow again → 360p`, { timeout: 240_000 }, async () => {
      const tag = pkg.replace(/[^0-9]/g, '');
      const { pageA, pageB } = await slowRoom(h, pkg, tag);
      try {
        // 1. Slow link. While alice's encoder ramps up, even her 720p layer is cheap enough
        // for the link; once it is not, bob must settle on 360p, stay there and keep decoding.
        const slow = await settle(pageA, pageB, 20, 40, `${pkg} slow`);
        assert.ok(slow.on360p, `not settled on the 360p layer over a ${SLOW_KBIT} kbit/s link: ${describeWindow(slow)}`);
        assert.ok(slow.decoding, `${slow.fps.toFixed(1)} fps over the slow link's settled window, want ≥ ${MIN_FPS}`);
        assert.ok(slow.lost <= MAX_LOST, `${slow.lost} packets lost over the slow link, want ≤ ${MAX_LOST}`);
        assert.ok(!slow.backTo720p, `given 720p again over the slow link after 360p: ${describeWindow(slow)}`);

        // 2. Open link: 720p (within 90 s: on a busy machine the estimate grows slowly).
        link.unshape();
        await until('bob reaches 720p on the open link', async () => (await sample(pageA, pageB)).layer === 2, 90_000);
        await watch(pageA, pageB, 3, `${pkg} open`);

        // 3. Slow again: back to 360p, still decoding, and few packets lost in all.
        link.shape(SLOW_KBIT);
        const again = await settle(pageA, pageB, SETTLED_SAMPLES, 45, `${pkg} slow again`);
        assert.ok(again.on360p, `not back on the 360p layer after the link narrowed: ${describeWindow(again)}`);
        assert.ok(again.decoding, `${again.fps.toFixed(1)} fps after falling back, want ≥ ${MIN_FPS}`);
        assert.ok(again.lost <= MAX_LOST, `${again.lost} packets lost in the run, want ≤ ${MAX_LOST}`);
        assert.ok(!again.backTo720p, `given 720p again after falling back to 360p: ${describeWindow(again)}`);
      } finally {
        link.unshape();
        await pageA.close();
        await pageB.close();
      }
    });
  }

  // The same slow phase without the estimate: the checks phase 1 passes must not all hold,
  // or the test above would not show that the estimate is what picks the layer.
  it(`${CLIENTS.newest}, --bwe-start-kbps 0: the slow link is not handled without the estimate`, { timeout: 120_000 }, async () => {
    await h.stopAll();
    process.env.VROOM_BWE_START_KBPS = '0';
    try {
      await off.start({ server: link.server });
    } finally {
      delete process.env.VROOM_BWE_START_KBPS;
    }
    const { pageA, pageB } = await slowRoom(off, CLIENTS.newest, 'off');
    try {
      const slow = await settle(pageA, pageB, 20, 40, `${CLIENTS.newest} slow, estimation off`);
      console.log(`estimation off: on 360p ${slow.on360p}, decoding ${slow.decoding}, lost ≤ ${MAX_LOST} ${slow.lost <= MAX_LOST}, back to 720p ${slow.backTo720p}`);
      assert.ok(
        !passes(slow),
        `with estimation off the slow link passed the checks the estimate is meant to make pass: ${describeWindow(slow)}`,
      );
    } finally {
      link.unshape();
      await pageA.close();
      await pageB.close();
    }
  });
});

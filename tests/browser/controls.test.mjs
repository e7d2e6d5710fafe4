// Track controls between livekit-client browsers through `vroom serve`: manual
// subscription, per-subscriber layer choice (setVideoQuality, adaptive-stream element size)
// and pausing, mute, unpublish, active speakers and connection quality — asserted on what
// the other clients' SDKs report and decode.
//
// For each client version: alice publishes the fake camera (simulcast, three layers 320, 640
// and 960 wide) and a continuous WebAudio tone as her microphone; bob joins with
// `autoSubscribe: false` and asserts:
//   - nothing arrives until he subscribes; after `setSubscribed(true)` video frames decode;
//   - `setVideoQuality(HIGH)` brings the top layer's exact width, LOW then the lowest one
//     (kept over 3 s), HIGH the top one again (subscribers start low: see `switchLayers`);
//   - `setEnabled(false)` stops decoded frames, `setEnabled(true)` resumes them;
//   - alice is reported as an active speaker (the tone), and connection quality for both
//     is EXCELLENT on loopback (the server's own measurement, never LOST);
//   - alice's mute fires TrackMuted, after which not one audio packet arrives over 3 s
//     (after 500 ms for packets in flight); unmute fires TrackUnmuted and audio flows again;
//   - alice unpublishing her camera fires TrackUnpublished; bob unsubscribing from the
//     audio fires TrackUnsubscribed.
// Then, per version, alice publishes the same layers in VP8 (2.9.5) or H.264 (newest,
// `videoCodec: 'h264'`): every layer is sent and decoded in that codec; bob, with
// `adaptiveStream: true`, gets the top layer while his video element is 1280×720, the lowest
// when it is 160×90, the top again at 1280×720; carol switches by setVideoQuality as above.
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Run it inside a loopback-only network namespace (scripts/test.sh does). Everything started
// here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENTS, Harness, inboundStats, until } from './harness.mjs';

// After TrackMuted, packets already on their way may still arrive for this long; then none.
const MUTE_SETTLE_MS = 500;
const MUTE_WINDOW_MS = 3000;

const HARD_TIMEOUT_MS = 300_000;
const h = new Harness('controls');

h.armWatchdog(HARD_TIMEOUT_MS);

// A page connected with `connectOptions` (see `Harness.joinPage`) that also records, on
// `window.t`, track events as log lines and active-speaker changes.
async function join(pkg, creds, label, connectOptions) {
  const page = await h.joinPage(pkg, creds, label, { connectOptions });
  await page.evaluate(() => {
    const { room, LK } = window.t;
    const E = LK.RoomEvent;
    Object.assign(window.t, { log: [], speakers: [] });
    const log = (line) => window.t.log.push(line);
    room.on(E.TrackUnsubscribed, (_track, pub, p) => log(`unsubscribed ${p.identity} ${pub.kind}`));
    room.on(E.TrackMuted, (pub, p) => log(`muted ${p.identity} ${pub.kind}`));
    room.on(E.TrackUnmuted, (pub, p) => log(`unmuted ${p.identity} ${pub.kind}`));
    room.on(E.TrackUnpublished, (pub, p) => log(`unpublished ${p.identity} ${pub.kind}`));
    room.on(E.ActiveSpeakersChanged, (speakers) => window.t.speakers.push(speakers.map((s) => s.identity)));
  });
  return page;
}

/** inbound-rtp counters of the page's subscribed tracks of `kind`. */
function inbound(page, kind) {
  return page.evaluate(async (kind) => {
    const out = { frames: 0, packets: 0, width: 0 };
    for (const s of window.t.subscribed.filter((s) => s.kind === kind)) {
      const stats = await s.track.receiver?.getStats();
      stats?.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        out.frames += r.framesDecoded ?? 0;
        out.packets += r.packetsReceived ?? 0;
        out.width = Math.max(out.width, r.frameWidth ?? 0);
      });
    }
    return out;
  }, kind);
}

/**
 * The simulcast layers `page` sends for its camera once all three are sent: their widths,
 * lowest first, and the codecs they are sent in.
 */
const sentLayers = (page) =>
  page.evaluate(async () => {
    const pub = [...window.t.room.localParticipant.videoTrackPublications.values()][0];
    const stats = await pub?.track?.sender?.getStats();
    const widths = [];
    const codecs = new Set();
    stats?.forEach((r) => {
      if (r.type !== 'outbound-rtp' || !r.frameWidth) return;
      widths.push(r.frameWidth);
      codecs.add(stats.get(r.codecId)?.mimeType);
    });
    return widths.length === 3 ? { widths: widths.sort((a, b) => a - b), codecs: [...codecs] } : null;
  });

// In the page: publishes the fake camera in `videoCodec` with three simulcast layers (320,
// 640, 960 wide: livekit-client sends three from 960 up) at low bitrates, so that neither
// the publisher's uplink estimate nor a subscriber's downlink estimate holds the top layer
// back for long on a busy machine.
const publishCamera = (page, videoCodec = 'vp8') =>
  page.evaluate(async (videoCodec) => {
    const { room, LK } = window.t;
    await room.localParticipant.setCameraEnabled(
      true,
      { resolution: { width: 960, height: 540, frameRate: 20 } },
      {
        videoCodec,
        videoEncoding: { maxBitrate: 400_000, maxFramerate: 20 },
        videoSimulcastLayers: [new LK.VideoPreset(320, 180, 120_000, 20), new LK.VideoPreset(640, 360, 250_000, 20)],
      },
    );
  }, videoCodec);

/**
 * Layer switching as `page` receives it. Subscribers start on the lowest layer and climb with
 * their bandwidth estimate, so a request for the low layer only shows from the top one:
 * `toTop()` until the top layer's exact width arrives; `toLow()` must then bring the lowest
 * layer and keep it for 3 s (the estimate would allow more); `toTop()` the top layer again.
 */
async function switchLayers(page, { widths: [low, , top] }, who, { toTop, toLow }) {
  await toTop();
  const at = Date.now();
  await until(`${who}: the top layer (width ${top})`, async () => (await inbound(page, 'video')).width === top, 60_000);
  console.log(`${who}: top layer after ${Date.now() - at} ms`);
  await toLow();
  await until(`${who}: the low layer (width ${low})`, async () => (await inbound(page, 'video')).width === low);
  const lowWindow = await widthsOver(page, 3000);
  assert.ok(lowWindow.widths.every((w) => w === low), `${who}: the low layer kept: ${lowWindow.widths}`);
  assert.ok(lowWindow.frames > 10, `${who}: frames decode on the low layer: ${lowWindow.frames} in 3 s`);
  await toTop();
  await until(`${who}: the top layer (width ${top}) again`, async () => (await inbound(page, 'video')).width === top, 60_000);
}

/** Samples the received video width for `ms`; returns the widths seen and the frames decoded meanwhile. */
async function widthsOver(page, ms) {
  const first = await inbound(page, 'video');
  const widths = [first.width];
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await sleep(250);
    widths.push((await inbound(page, 'video')).width);
  }
  return { widths, frames: (await inbound(page, 'video')).frames - first.frames };
}

/** How much `field` grows over `ms`. */
async function growth(page, kind, field, ms = 2000) {
  const before = (await inbound(page, kind))[field];
  await sleep(ms);
  return (await inbound(page, kind))[field] - before;
}

// The remote publication of `kind` (there is one publisher in these rooms).
const remotePub = (page, kind) =>
  page.evaluate(
    (kind) => [...window.t.room.remoteParticipants.values()].flatMap((p) => [...p.trackPublications.values()]).filter((x) => x.kind === kind).length,
    kind,
  );

const onRemotePub = (page, kind, code) =>
  page.evaluate(
    ({ kind, code }) => {
      const pub = [...window.t.room.remoteParticipants.values()].flatMap((p) => [...p.trackPublications.values()]).find((x) => x.kind === kind);
      return new Function('pub', 'LK', code)(pub, window.t.LK);
    },
    { kind, code },
  );

// Gives the video element of `page`'s (only) video subscription a CSS size.
const sizeVideo = (page, width, height) =>
  page.evaluate(
    ({ width, height }) => {
      const { el } = window.t.subscribed.find((s) => s.kind === 'video');
      Object.assign(el.style, { width: `${width}px`, height: `${height}px` });
    },
    { width, height },
  );

const logged = (page, line) => page.evaluate((line) => window.t.log.includes(line), line);

describe('track controls between two livekit-client browsers', () => {
  before(async () => {
    await h.start();
  });

  after(async () => {
    await h.stopAll();
  });

  afterEach(() => h.assertClean());

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    it(`${pkg}: manual subscription, layers, pause, speakers, quality, mute, unpublish`, { timeout: 150_000 }, async () => {
      const tag = pkg.replace(/[^0-9]/g, '');
      const alice = await h.login(`ctl-alice-${tag}`, 'Alice');
      const bob = await h.login(`ctl-bob-${tag}`, 'Bob');
      const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: 'controls' } });
      const creds = (who) => h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken });
      const pageA = await join(pkg, await creds(alice), 'alice', {});
      const pageB = await join(pkg, await creds(bob), 'bob', { autoSubscribe: false });
      try {
        await publishCamera(pageA);
        await pageA.evaluate(async () => {
          const { room, LK } = window.t;
          // A continuous tone: the fake microphone only beeps, too little to count as speech.
          const ctx = new AudioContext();
          const osc = ctx.createOscillator();
          const gain = ctx.createGain();
          gain.gain.value = 0.5;
          const dest = ctx.createMediaStreamDestination();
          osc.connect(gain).connect(dest);
          osc.start();
          const track = new LK.LocalAudioTrack(dest.stream.getAudioTracks()[0]);
          window.t.tone = track;
          await room.localParticipant.publishTrack(track, { source: LK.Track.Source.Microphone, name: 'tone' });
        });
        await until('bob sees alice publish video and audio', async () => (await remotePub(pageB, 'video')) === 1 && (await remotePub(pageB, 'audio')) === 1);
        await sleep(1500);
        assert.equal(await pageB.evaluate(() => window.t.subscribed.length), 0, 'nothing subscribed without asking');

        // Manual subscription.
        await onRemotePub(pageB, 'video', 'pub.setSubscribed(true)');
        await onRemotePub(pageB, 'audio', 'pub.setSubscribed(true)');
        await until('bob subscribed to both', async () => (await pageB.evaluate(() => window.t.subscribed.length)) === 2);
        await until('video frames decode', async () => (await inbound(pageB, 'video')).frames > 10);

        // Layer choice per subscriber (see `switchLayers`).
        const layers = await until('alice sends three simulcast layers', () => sentLayers(pageA));
        console.log(`[${pkg}] alice's layers: ${layers.widths.join(', ')}`);
        const quality = (q) => () => onRemotePub(pageB, 'video', `pub.setVideoQuality(LK.VideoQuality.${q})`);
        await switchLayers(pageB, layers, `[${pkg}] bob (setVideoQuality)`, { toTop: quality('HIGH'), toLow: quality('LOW') });

        // Paused and resumed.
        await onRemotePub(pageB, 'video', 'pub.setEnabled(false)');
        await sleep(1000);
        assert.ok((await growth(pageB, 'video', 'frames')) <= 2, 'no frames while disabled');
        await onRemotePub(pageB, 'video', 'pub.setEnabled(true)');
        await until('frames resume', async () => (await growth(pageB, 'video', 'frames', 1000)) > 5);

        // Speakers and connection quality, as the server reports them.
        await until('alice is an active speaker', () => pageB.evaluate(() => window.t.speakers.some((s) => s.includes(window.t.room.remoteParticipants.values().next().value.identity))));
        await until('connection quality is excellent for both', () =>
          pageB.evaluate(() => {
            const remote = [...window.t.room.remoteParticipants.values()][0];
            return remote.connectionQuality === 'excellent' && window.t.room.localParticipant.connectionQuality === 'excellent';
          }),
        );

        // Mute and unmute.
        const aliceId = `ctl-alice-${tag}`;
        await pageA.evaluate(() => window.t.tone.mute());
        await until('TrackMuted on bob', () => logged(pageB, `muted ${aliceId} audio`));
        await sleep(MUTE_SETTLE_MS);
        const whileMuted = await growth(pageB, 'audio', 'packets', MUTE_WINDOW_MS);
        assert.equal(whileMuted, 0, `audio packets forwarded in the ${MUTE_WINDOW_MS} ms after TrackMuted (+${MUTE_SETTLE_MS} ms)`);
        await until('alice no longer speaks', () => pageB.evaluate(() => window.t.speakers.at(-1)?.length === 0));
        await pageA.evaluate(() => window.t.tone.unmute());
        await until('TrackUnmuted on bob', () => logged(pageB, `unmuted ${aliceId} audio`));
        await until('audio flows again', async () => (await growth(pageB, 'audio', 'packets', 1000)) > 10);

        // Unpublish by alice, unsubscribe by bob.
        await pageA.evaluate(async () => {
          const pub = [...window.t.room.localParticipant.trackPublications.values()].find((p) => p.kind === 'video');
          await window.t.room.localParticipant.unpublishTrack(pub.track);
        });
        await until('TrackUnpublished on bob', () => logged(pageB, `unpublished ${aliceId} video`));
        assert.equal(await remotePub(pageB, 'video'), 0);
        await onRemotePub(pageB, 'audio', 'pub.setSubscribed(false)');
        await until('TrackUnsubscribed on bob', () => logged(pageB, `unsubscribed ${aliceId} audio`));
      } finally {
        for (const p of [pageB, pageA]) {
          await p.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await p.close().catch(() => {});
        }
      }
    });

    // The older client publishes VP8, the newest H.264 (`videoCodec: 'h264'`): each codec's
    // simulcast layers are switched both ways, by adaptive stream and by setVideoQuality.
    const codec = pkg === CLIENTS.old ? 'vp8' : 'h264';
    it(`${pkg}: adaptive-stream element size and setVideoQuality pick the ${codec} simulcast layer`, { timeout: 150_000 }, async () => {
      const tag = pkg.replace(/[^0-9]/g, '');
      const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((who) => h.login(`sim-${who}-${tag}`, who)));
      const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: `simulcast ${codec}` } });
      const creds = (who) => h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken });
      const pages = [];
      try {
        const pageA = await h.joinPage(pkg, await creds(alice), 'alice');
        pages.push(pageA);
        // bob displays the track in an element whose size picks the layer; carol asks for
        // qualities.
        const pageB = await h.joinPage(pkg, await creds(bob), 'bob (adaptive)', { roomOptions: { adaptiveStream: true } });
        pages.push(pageB);
        const pageC = await h.joinPage(pkg, await creds(carol), 'carol');
        pages.push(pageC);
        await publishCamera(pageA, codec);
        const layers = await until('alice sends three simulcast layers', () => sentLayers(pageA));
        const mime = codec === 'h264' ? 'video/H264' : 'video/VP8';
        assert.deepEqual(layers.codecs, [mime], `alice's layers (${layers.widths}) are all sent in ${mime}`);
        for (const page of [pageB, pageC]) {
          await until('the subscriber decodes alice', async () => (await inbound(page, 'video')).frames > 0);
          assert.deepEqual((await inboundStats(page)).videoCodecs, [mime], `${mime} is what subscribers decode`);
        }
        // The viewport is 1280×720: a 1280×720 element is visible and wider than the top
        // layer; 160×90 is covered by the lowest.
        const quality = (q) => () => onRemotePub(pageC, 'video', `pub.setVideoQuality(LK.VideoQuality.${q})`);
        await Promise.all([
          switchLayers(pageB, layers, `[${pkg}] bob (adaptive stream, ${codec})`, {
            toTop: () => sizeVideo(pageB, 1280, 720),
            toLow: () => sizeVideo(pageB, 160, 90),
          }),
          switchLayers(pageC, layers, `[${pkg}] carol (setVideoQuality, ${codec})`, { toTop: quality('HIGH'), toLow: quality('LOW') }),
        ]);
      } finally {
        for (const p of pages) {
          await p.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await p.close().catch(() => {});
        }
      }
    });
  }
});

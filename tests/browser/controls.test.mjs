// Track controls between two livekit-client browsers through `vroom serve`: manual
// subscription, per-subscriber layer choice and pausing, mute, unpublish, active speakers
// and connection quality — asserted on what the other client's SDK reports and decodes.
//
// For each client version: alice publishes the fake camera (simulcast) and a continuous
// WebAudio tone as her microphone; bob joins with `autoSubscribe: false` and asserts:
//   - nothing arrives until he subscribes; after `setSubscribed(true)` video frames decode;
//   - `setVideoQuality(LOW)` gives him the low layer (frame width), HIGH the best one;
//   - `setEnabled(false)` stops decoded frames, `setEnabled(true)` resumes them;
//   - alice is reported as an active speaker (the tone), and connection quality for both
//     is EXCELLENT on loopback (the server's own measurement, never LOST);
//   - alice's mute fires TrackMuted (and audio packets stop), unmute TrackUnmuted;
//   - alice unpublishing her camera fires TrackUnpublished; bob unsubscribing from the
//     audio fires TrackUnsubscribed.
//
// Run it inside a loopback-only network namespace (scripts/test.sh does). Everything started
// here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENTS, Harness, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 300_000;
const h = new Harness('controls');

h.armWatchdog(HARD_TIMEOUT_MS);

// In the page: connect with `options`, record what the SDK reports on `window.t`.
async function join(pkg, creds, label, options) {
  const page = await h.context.newPage();
  page.on('pageerror', (e) => console.error(`[${label}] ${e.message}`));
  await page.goto(`${h.pageBase}/page.html`);
  await page.evaluate(
    async ({ lkUrl, url, token, options }) => {
      const LK = await import(lkUrl);
      const room = new LK.Room();
      const t = { room, LK, subscribed: [], log: [], speakers: [] };
      window.t = t;
      const E = LK.RoomEvent;
      room.on(E.TrackSubscribed, (track, pub, p) => {
        t.subscribed.push({ kind: track.kind, sid: pub.trackSid, track });
        const el = track.attach();
        el.muted = true;
        document.body.appendChild(el);
      });
      room.on(E.TrackUnsubscribed, (_track, pub, p) => t.log.push(`unsubscribed ${p.identity} ${pub.kind}`));
      room.on(E.TrackMuted, (pub, p) => t.log.push(`muted ${p.identity} ${pub.kind}`));
      room.on(E.TrackUnmuted, (pub, p) => t.log.push(`unmuted ${p.identity} ${pub.kind}`));
      room.on(E.TrackUnpublished, (pub, p) => t.log.push(`unpublished ${p.identity} ${pub.kind}`));
      room.on(E.ActiveSpeakersChanged, (speakers) => t.speakers.push(speakers.map((s) => s.identity)));
      await room.connect(url, token, options);
    },
    { lkUrl: `${h.pageBase}/lk/${pkg}/livekit-client.esm.mjs`, url: creds.webRtcServerUrl, token: creds.webRtcToken, options },
  );
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

/** How much `field` grows over `ms`. */
async function growth(page, kind, field, ms = 2000) {
  const before = (await inbound(page, kind))[field];
  await sleep(ms);
  return (await inbound(page, kind))[field] - before;
}

const remotePub = (page, kind) =>
  page.evaluate((kind) => {
    const p = [...window.t.room.remoteParticipants.values()][0];
    return p ? [...p.trackPublications.values()].filter((x) => x.kind === kind).length : 0;
  }, kind);

const onRemotePub = (page, kind, code) =>
  page.evaluate(
    ({ kind, code }) => {
      const p = [...window.t.room.remoteParticipants.values()][0];
      const pub = [...p.trackPublications.values()].find((x) => x.kind === kind);
      return new Function('pub', 'LK', code)(pub, window.t.LK);
    },
    { kind, code },
  );

const logged = (page, line) => page.evaluate((line) => window.t.log.includes(line), line);

describe('track controls between two livekit-client browsers', () => {
  before(async () => {
    await h.start();
  });

  after(async () => {
    await h.stopAll();
  });

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
        await pageA.evaluate(async () => {
          const { room, LK } = window.t;
          await room.localParticipant.setCameraEnabled(true, { resolution: { width: 640, height: 480, frameRate: 20 } });
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

        // Layer choice per subscriber.
        await onRemotePub(pageB, 'video', 'pub.setVideoQuality(LK.VideoQuality.LOW)');
        await until('the low layer (width ≤ 320)', async () => {
          const { width } = await inbound(pageB, 'video');
          return width > 0 && width <= 320;
        });
        await onRemotePub(pageB, 'video', 'pub.setVideoQuality(LK.VideoQuality.HIGH)');
        await until('the best layer (width > 320)', async () => (await inbound(pageB, 'video')).width > 320);

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
        await sleep(500);
        assert.ok((await growth(pageB, 'audio', 'packets', 1500)) <= 3, 'no audio forwarded while muted');
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
  }
});

// Two unmodified livekit-client browsers that both publish exchange media and data through
// `vroom serve`.
//
// For each client version (2.9.5, pinned by FlipFlop's web SDK, and the newest 2.x, which
// tries `/rtc/v1` first and must fall back to `/rtc`), the test:
//   1. logs "alice" and "bob" in through the server API; alice creates a video room and both
//      fetch media credentials (with customData) from the member API;
//   2. lets each see the other's ParticipantConnected: livekit-client fires it only for
//      participants that join after the local one, so alice joins, bob joins, alice leaves
//      (bob must see ParticipantDisconnected within 2 s) and joins again;
//   3. lets both publish the fake camera and microphone (alice's video in VP8, bob's in H.264
//      via `videoCodec: 'h264'`) and asserts, on both pages: TrackSubscribed for the other's
//      audio and video, video decoded in the other's codec at ≥ MIN_FPS with no freeze over
//      a settled window (harness `assertSmoothVideo`), audio `packetsReceived` growing, a
//      reliable data packet from the other with its payload, topic and identity, and the
//      other's name and metadata, which must parse as the member JSON the member API gives
//      for that member;
//   4. lets bob disconnect: alice must see ParticipantDisconnected within 2 s of the call;
//   5. checks the signalling paths: `/rtc` used, `/rtc/v1` tried by the newest client only.
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Run it inside a loopback-only network namespace (scripts/test.sh does):
//   unshare -n sh -c 'ip link set lo up && node --test tests/browser/media.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { CLIENTS, Harness, OUT_DIR, assertSmoothVideo, inboundStats, until } from './harness.mjs';

const VERSIONS = [
  { pkg: CLIENTS.old, triesV1: false },
  { pkg: CLIENTS.newest, triesV1: true },
];
const HARD_TIMEOUT_MS = 240_000;
const LEAVE_SEEN_WITHIN_MS = 2000;
// livekit DataPacket_Kind values.
const RELIABLE = 0;

const h = new Harness('media');

h.armWatchdog(HARD_TIMEOUT_MS);

/** The remote participants as `page` sees them: identity, name and parsed metadata. */
const remoteOf = (page) =>
  page.evaluate(() => {
    const all = [...window.t.room.remoteParticipants.values()];
    return all.map((p) => ({ identity: p.identity, name: p.name, metadata: JSON.parse(p.metadata) }));
  });

/**
 * Calls disconnect() in `leaver`; returns the milliseconds until `watcher` saw
 * ParticipantDisconnected for `identity` (Date.now() on both pages: one clock).
 */
async function leaveSeenAfter(leaver, watcher, identity) {
  const calledAt = await leaver.evaluate(async () => {
    const at = Date.now();
    await window.t.room.disconnect();
    return at;
  });
  const seen = await until(`ParticipantDisconnected for ${identity}`, () =>
    watcher.evaluate((id) => window.t.left.find((l) => l.identity === id) ?? null, identity),
  );
  return seen.at - calledAt;
}

const sendData = (page, text) =>
  page.evaluate((text) => window.t.room.localParticipant.publishData(new TextEncoder().encode(text), { reliable: true, topic: 'greeting' }), text);

describe('media between two publishing livekit-client browsers', () => {
  before(async () => {
    await h.start();
  });

  after(async () => {
    await h.stopAll();
  });

  // Uncaught page errors, console errors and SDK reconnects fail the test (see harness.mjs).
  afterEach(() => h.assertClean());

  for (const { pkg, triesV1 } of VERSIONS) {
    const version = pkg.replace('livekit-client-', '');
    it(`${pkg}: both publish; connect, tracks, frames, packets, data, metadata, leave`, { timeout: 120_000 }, async () => {
      const ids = { alice: `alice-${version}`, bob: `bob-${version}` };
      const alice = await h.login(ids.alice, 'Alice', { appUserProfileImgUrl: 'http://127.0.0.1/alice.png' });
      const bob = await h.login(ids.bob, 'Bob');
      const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: `media ${version}` } });
      const custom = { alice: { seat: 'a' }, bob: { seat: 'b' } };
      const creds = (who, customData) =>
        h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken, body: { customData } });
      // The member JSON each participant's metadata must match, from the member API.
      const memberJson = async (who, channelMemberType, customData) => {
        const me = await h.api('GET', '/v2/members/me', { bearer: who.accessToken });
        return {
          identity: me.appUserId,
          name: me.appUserName,
          metadata: {
            memberId: me.id,
            appUserId: me.appUserId,
            appUserName: me.appUserName,
            appUserProfileImgUrl: me.appUserProfileImgUrl,
            videoRoomId: room.id,
            channelMemberType,
            customData,
          },
        };
      };
      const expected = { alice: await memberJson(alice, 'OPERATOR', custom.alice), bob: await memberJson(bob, 'MEMBER', custom.bob) };
      const aliceCreds = await creds(alice, custom.alice);
      assert.equal(aliceCreds.webRtcServerUrl, h.base.replace('http://', 'ws://'));

      const sockets = [];
      const pages = [];
      const join = async (credentials, label) => {
        const page = await h.joinPage(pkg, credentials, `${label} ${version}`, { sockets });
        pages.push(page);
        return page;
      };
      try {
        // alice sees bob connect; alice leaves and comes back so that bob sees her connect.
        const firstA = await join(aliceCreds, 'alice (first)');
        const pageB = await join(await creds(bob, custom.bob), 'bob');
        await until('alice sees bob connect', () => firstA.evaluate(() => window.t.connected.length > 0));
        assert.deepEqual(await firstA.evaluate(() => window.t.connected), [ids.bob]);
        const firstLeave = await leaveSeenAfter(firstA, pageB, ids.alice);
        console.log(`[${version}] bob saw alice leave after ${firstLeave} ms`);
        assert.ok(firstLeave < LEAVE_SEEN_WITHIN_MS, `bob saw alice leave after ${firstLeave} ms`);
        const pageA = await join(await creds(alice, custom.alice), 'alice');
        await until('bob sees alice connect', () => pageB.evaluate(() => window.t.connected.length > 0));
        assert.deepEqual(await pageB.evaluate(() => window.t.connected), [ids.alice]);

        // alice publishes VP8 (the default), bob H.264: each codec is forwarded one way. At
        // 640×360 (two simulcast layers): four 720p software encoders would starve a shared
        // 2-core machine, and frames the publishers cannot encode in time freeze the picture.
        const sides = [
          { page: pageA, me: 'alice', other: 'bob', codec: 'vp8' },
          { page: pageB, me: 'bob', other: 'alice', codec: 'h264' },
        ];
        await Promise.all(
          sides.map(({ page, codec }) =>
            page.evaluate(async (videoCodec) => {
              await window.t.room.localParticipant.setCameraEnabled(true, { resolution: { width: 640, height: 360, frameRate: 20 } }, { videoCodec });
              await window.t.room.localParticipant.setMicrophoneEnabled(true);
            }, codec),
          ),
        );
        for (const { page, me, other } of sides) {
          const kinds = await until(`${me} subscribing to ${other}'s audio and video`, () =>
            page.evaluate(() => {
              const k = window.t.subscribed.map((s) => `${s.kind}:${s.from}`).sort();
              return k.length >= 2 ? k : null;
            }),
          );
          assert.deepEqual(kinds, [`audio:${ids[other]}`, `video:${ids[other]}`], `${me}'s subscriptions`);
        }

        // Video flows at the camera's rate on both sides, without freezing, once the layer
        // the subscriber gets has settled (see `settledVideo`); audio packets keep coming.
        const first = await Promise.all(sides.map(({ page }) => inboundStats(page)));
        await Promise.all(sides.map(({ page, me, other }) =>
            assertSmoothVideo(page, `[${version}] ${me} decoding ${other}`, { from: ids[other], publisher: sides.find((s) => s.me === other).page }),
          ));
        for (const [i, { page, me }] of sides.entries()) {
          const later = await until(
            `${me}: 25 more audio packets`,
            async () => {
              const now = await inboundStats(page);
              return now.audioPackets >= first[i].audioPackets + 25 && now;
            },
            15_000,
          );
          console.log(`[${version}] ${me} inbound: ${JSON.stringify(first[i])} → ${JSON.stringify(later)}`);
        }
        for (const { page, me, other } of sides) {
          const sent = sides.find((s) => s.me === other).codec === 'h264' ? 'video/H264' : 'video/VP8';
          assert.deepEqual((await inboundStats(page)).videoCodecs, [sent], `${me} decodes ${other}'s ${sent}`);
          // The track info the server announced names the same codec.
          const announced = await page.evaluate(() =>
            [...window.t.room.remoteParticipants.values()].flatMap((p) => [...p.videoTrackPublications.values()].map((t) => t.mimeType)),
          );
          assert.deepEqual(announced, [sent], `${other}'s video track as announced to ${me}`);
        }

        // One reliable data packet each way: no resend, it must arrive once.
        for (const { page, me } of sides) await sendData(page, `hello from ${me} ${version}`);
        for (const { page, me, other } of sides) {
          await until(`${me} receives ${other}'s data`, () => page.evaluate(() => window.t.received.length > 0));
          const received = await page.evaluate(() => window.t.received);
          assert.deepEqual(received, [{ text: `hello from ${other} ${version}`, from: ids[other], kind: RELIABLE, topic: 'greeting' }], `${me}'s data`);
        }

        for (const { page, me, other } of sides) {
          assert.deepEqual(await remoteOf(page), [expected[other]], `${me}'s view of ${other}`);
        }

        const lastLeave = await leaveSeenAfter(pageB, pageA, ids.bob);
        console.log(`[${version}] alice saw bob leave after ${lastLeave} ms`);
        assert.ok(lastLeave < LEAVE_SEEN_WITHIN_MS, `alice saw bob leave after ${lastLeave} ms`);

        assert.ok(sockets.includes('/rtc'), `signalling used /rtc: ${sockets}`);
        assert.equal(sockets.includes('/rtc/v1'), triesV1, `/rtc/v1 tried by the newest client only: ${sockets}`);
      } finally {
        for (const [i, page] of pages.entries()) {
          await page.screenshot({ path: path.join(OUT_DIR, `media-${version}-${i}.png`) }).catch(() => {});
          await page.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await page.close().catch(() => {});
        }
      }
    });
  }
});

// The vroom web SDK (sdk/js, its self-contained browser bundle) end to end against `vroom serve`,
// in two headless Chromium pages that use only the SDK's FlipFlop-compatible API:
//   1. the bundle (`vroom-sdk/bundle`, dist/vroom-sdk.bundle.mjs) loads in a page as an ES module;
//   2. "alice" and "bob" log in through the server API (Basic devkey:devsecret); in alice's page
//      `FlipFlopCloud.init(base, accessToken)`, `createVideoRoom({type: 'VIDEO_CONFERENCE'})`,
//      `issueRtcVideoRoomToken`; bob's page gets his own credentials for that room;
//   3. two `FFCRtcVideoRoom`s connect and `enableCameraAndMicrophone`; each page gets
//      TRACK_SUBSCRIBED (FFCRemoteTrack, FFCRemoteTrackPublication, FFCRemoteParticipant) for the
//      other's audio and video, and decoded video frames and received audio packets grow on both
//      sides (inbound-rtp stats read twice through the wrappers' `receiver`);
//   4. the wrappers' getters: the remote participant's `memberInfo` is the other member (appUserId,
//      OPERATOR for the owner) and equals its parsed `metadata`; `localParticipant.trackPublications`
//      holds audio and video with their `source`; PARTICIPANT_CONNECTED fired;
//   5. bob disconnects: alice's page gets PARTICIPANT_DISCONNECTED with bob's FFCRemoteParticipant;
//   6. through the SDK: `updateVideoRoom` changes the title, `getVideoRoom` of a missing id rejects
//      with an FFCApiError (status 404, the server's errorCode), two FlipFlopCloudClient instances
//      in one page act as two members, `deleteVideoRoom` deletes (then 404 too).
// Any uncaught page error, console error (except the expected 404s) or SDK reconnect fails the
// test (harness.mjs).
//
// Needs the SDK built beforehand (`cd sdk/js && npm ci && npm run build`); this file installs
// nothing. Run it inside a loopback-only network namespace:
//   unshare -n sh -c 'ip link set lo up && VROOM_BIN=target/debug/vroom node --test --test-concurrency=1 tests/browser/sdk.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root);
//      VROOM_SDK_BUNDLE  another build of the SDK's browser bundle.
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HERE, Harness, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 180_000;
const SDK_BUNDLE = process.env.VROOM_SDK_BUNDLE ?? path.resolve(HERE, '..', '..', 'sdk', 'js', 'dist', 'vroom-sdk.bundle.mjs');
// Video frames that must decode between two readings FRAME_WINDOW_MS apart (the fake camera
// sends 20 fps: a healthy path decodes ~40; a stalled one none).
const FRAME_WINDOW_MS = 2000;
const MIN_FRAMES = 10;
const MIN_AUDIO_PACKETS = 25;
const LEAVE_SEEN_WITHIN_MS = 3000;
// Chromium logs a console error for every failed fetch; these 404s are the test's own.
const EXPECTED_404 = /^Failed to load resource: the server responded with a status of 404 \(Not Found\) \(http:\/\/127\.0\.0\.1:\d+\/v2\/members\/me\/video-rooms\/\d+\)$/;

const h = new Harness('sdk');
let sdkServer = null;
let sdkBase = null;

h.armWatchdog(HARD_TIMEOUT_MS);

/** Serves a blank page and the SDK bundle (the harness's static server knows only livekit-client). */
function startSdkServer() {
  const page = '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>vroom sdk test</title></head><body></body></html>';
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    if (pathname === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    } else if (pathname === '/sdk/vroom-sdk.bundle.mjs') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(SDK_BUNDLE).pipe(res);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A page with the SDK bundle imported as `window.SDK` and a record `window.t`. */
async function sdkPage(label, opts) {
  const page = await h.newPage(label, opts);
  await page.goto(`${sdkBase}/page.html`);
  await page.evaluate(async (url) => {
    window.SDK = await import(url);
    window.t = { subscribed: [], connected: [], left: [], disconnected: null };
  }, `${sdkBase}/sdk/vroom-sdk.bundle.mjs`);
  return page;
}

/** In `page`: a new FFCRtcVideoRoom with listeners recording to `window.t`, connected with `creds`. */
function connectInPage(page, creds) {
  return page.evaluate(async ({ url, token }) => {
    const { FFCRtcVideoRoom, FFCRtcVideoRoomEvent: E, FFCRemoteTrack, FFCRemoteTrackPublication, FFCRemoteParticipant } = window.SDK;
    const t = window.t;
    // 640×360: four 720p software encoders would starve the shared 2-core test machine.
    const room = new FFCRtcVideoRoom({ videoCaptureDefaults: { resolution: { width: 640, height: 360, frameRate: 20 } } });
    t.room = room;
    room
      .on(E.TRACK_SUBSCRIBED, (track, publication, participant) => {
        const el = track.attach();
        el.muted = true;
        document.body.appendChild(el);
        t.subscribed.push({
          track,
          kind: track.kind,
          source: track.source,
          pubSource: publication.source,
          from: participant.identity,
          wrappers: track instanceof FFCRemoteTrack && publication instanceof FFCRemoteTrackPublication && participant instanceof FFCRemoteParticipant,
          same: publication.track === track && room.remoteParticipants.get(participant.identity) === participant,
        });
      })
      .on(E.PARTICIPANT_CONNECTED, (p) => t.connected.push(p.identity))
      .on(E.PARTICIPANT_DISCONNECTED, (p) => t.left.push({ identity: p.identity, wrapper: p instanceof FFCRemoteParticipant, at: Date.now() }))
      .on(E.DISCONNECTED, (reason) => {
        t.disconnected = { reason: reason ?? null };
      });
    for (const [event, name] of [[E.RECONNECTING, 'Reconnecting'], [E.SIGNAL_RECONNECTING, 'SignalReconnecting'], [E.RECONNECTED, 'Reconnected']]) {
      room.on(event, () => window.vroomTestReport?.(name));
    }
    await room.connect(url, token);
    return room.state;
  }, { url: creds.webRtcServerUrl, token: creds.webRtcToken });
}

/** Inbound video frames decoded and audio packets received, through the SDK's track wrappers. */
function inbound(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, audioPackets: 0 };
    for (const { track } of window.t.subscribed) {
      const receiver = track.receiver;
      if (!receiver) continue;
      (await receiver.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') out.framesDecoded += s.framesDecoded ?? 0;
        if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      });
    }
    return out;
  });
}

/** Runs an SDK call in the page; returns `{ok, value}` or `{ok: false, error: {...FFCApiError fields}}`. */
function callInPage(page, fn, arg) {
  return page.evaluate(
    async ({ source, arg }) => {
      const f = new Function('SDK', 'arg', `return (${source})(SDK, arg);`);
      try {
        return { ok: true, value: JSON.parse(JSON.stringify((await f(window.SDK, arg)) ?? null)) };
      } catch (e) {
        const { FFCApiError, FFCNetworkError } = window.SDK;
        return {
          ok: false,
          error: { name: e.name, message: e.message, isApiError: e instanceof FFCApiError, isError: e instanceof Error, isNetworkError: e instanceof FFCNetworkError, status: e.status, errorCode: e.errorCode, errorMessage: e.errorMessage },
        };
      }
    },
    { source: fn.toString(), arg },
  );
}

describe('vroom web SDK in the browser', () => {
  before(async () => {
    assert.ok(existsSync(SDK_BUNDLE), `${SDK_BUNDLE} is missing: run \`cd sdk/js && npm ci && npm run build\` first`);
    await h.start();
    sdkServer = await startSdkServer();
    sdkBase = `http://127.0.0.1:${sdkServer.address().port}`;
  });

  after(async () => {
    sdkServer?.close();
    await h.stopAll();
  });

  // Uncaught page errors, console errors and SDK reconnects fail the test (see harness.mjs).
  afterEach(() => h.assertClean());

  it('the ./bundle export loads in a page and exposes the FlipFlop API', { timeout: 30_000 }, async () => {
    const page = await sdkPage('bundle');
    try {
      const surface = await page.evaluate(() => {
        const S = window.SDK;
        return {
          statics: ['init', 'getMe', 'createVideoRoom', 'listVideoRooms', 'getVideoRoom', 'updateVideoRoom', 'deleteVideoRoom', 'issueRtcVideoRoomToken', 'getVideoRoomByUuid', 'endVideoRoom', 'refreshTokens'].filter((m) => typeof S.FlipFlopCloud[m] !== 'function'),
          classes: ['FFCRtcVideoRoom', 'FlipFlopCloudClient', 'FFCApiError', 'FFCNetworkError', 'FFCParticipant', 'FFCLocalParticipant', 'FFCRemoteParticipant', 'FFCLocalAudioTrack', 'FFCRemoteVideoTrack', 'FFCRemoteTrackPublication'].filter((c) => typeof S[c] !== 'function'),
          kind: S.FFCTrack.Kind.Video,
          sort: S.FFCVideoRoomsSortOption.CREATED_AT_DESC,
          event: S.FFCRtcVideoRoomEvent.PARTICIPANT_DISCONNECTED,
        };
      });
      assert.deepEqual(surface, { statics: [], classes: [], kind: 'video', sort: 'CREATED_AT_DESC', event: 'PARTICIPANT_DISCONNECTED' });
    } finally {
      await page.close();
    }
  });

  it('two SDK rooms: create, credentials, media both ways, member info, leave, update, errors, delete', { timeout: 150_000 }, async () => {
    const alice = await h.login('sdk-alice', 'Alice');
    const bob = await h.login('sdk-bob', 'Bob');
    const pageA = await sdkPage('alice', { allowConsoleErrors: [EXPECTED_404] });
    const pageB = await sdkPage('bob');
    try {
      // The seed flow in alice's page: init, create a room, media credentials.
      const created = await callInPage(pageA, async (S, { base, accessToken }) => {
        S.FlipFlopCloud.init(base, accessToken);
        const room = await S.FlipFlopCloud.createVideoRoom({ type: 'VIDEO_CONFERENCE', title: 'sdk e2e' });
        const creds = await S.FlipFlopCloud.issueRtcVideoRoomToken(room.id);
        const me = await S.FlipFlopCloud.getMe();
        return { room, creds, me };
      }, { base: h.base, accessToken: alice.accessToken });
      assert.ok(created.ok, JSON.stringify(created.error));
      const { room, creds: aliceCreds, me } = created.value;
      assert.equal(room.type, 'VIDEO_CONFERENCE');
      assert.equal(room.title, 'sdk e2e');
      assert.equal(room.member.appUserId, 'sdk-alice');
      assert.equal(typeof room.uuid, 'string');
      assert.equal(me.appUserId, 'sdk-alice');
      assert.equal(aliceCreds.webRtcServerUrl, h.base.replace('http://', 'ws://'));

      const bobCreds = await callInPage(pageB, async (S, { base, accessToken, id }) => {
        S.FlipFlopCloud.init(base, accessToken);
        return S.FlipFlopCloud.issueRtcVideoRoomToken(id);
      }, { base: h.base, accessToken: bob.accessToken, id: room.id });
      assert.ok(bobCreds.ok, JSON.stringify(bobCreds.error));

      assert.equal(await connectInPage(pageA, aliceCreds), 'CONNECTED');
      assert.equal(await connectInPage(pageB, bobCreds.value), 'CONNECTED');
      await until('alice sees bob connect', () => pageA.evaluate(() => window.t.connected.length > 0));
      assert.deepEqual(await pageA.evaluate(() => window.t.connected), ['sdk-bob']);

      await Promise.all([pageA, pageB].map((p) => p.evaluate(() => window.t.room.localParticipant.enableCameraAndMicrophone())));

      const sides = [
        { page: pageA, me: 'sdk-alice', other: 'sdk-bob', otherType: 'MEMBER' },
        { page: pageB, me: 'sdk-bob', other: 'sdk-alice', otherType: 'OPERATOR' },
      ];
      for (const { page, me, other } of sides) {
        const subs = await until(`${me} subscribed to ${other}'s audio and video`, () =>
          page.evaluate(() => {
            const s = window.t.subscribed.map(({ kind, source, pubSource, from, wrappers, same }) => ({ kind, source, pubSource, from, wrappers, same }));
            return s.length >= 2 ? s.sort((a, b) => a.kind.localeCompare(b.kind)) : null;
          }),
        );
        assert.deepEqual(subs, [
          { kind: 'audio', source: 'microphone', pubSource: 'microphone', from: other, wrappers: true, same: true },
          { kind: 'video', source: 'camera', pubSource: 'camera', from: other, wrappers: true, same: true },
        ], `${me}'s subscriptions`);
      }

      // Frames decoded and audio packets received grow on both sides.
      for (const { page, me, other } of sides) {
        await until(`${me} decodes ${other}'s video`, async () => (await inbound(page)).framesDecoded > 0);
        const first = await inbound(page);
        await sleep(FRAME_WINDOW_MS);
        const second = await inbound(page);
        console.log(`${me} from ${other}: ${JSON.stringify(first)} → ${JSON.stringify(second)}`);
        assert.ok(second.framesDecoded - first.framesDecoded >= MIN_FRAMES, `${me}: ${second.framesDecoded - first.framesDecoded} frames of ${other} in ${FRAME_WINDOW_MS} ms`);
        assert.ok(second.audioPackets - first.audioPackets >= MIN_AUDIO_PACKETS, `${me}: ${second.audioPackets - first.audioPackets} audio packets of ${other} in ${FRAME_WINDOW_MS} ms`);
      }

      // The wrappers' getters: memberInfo, metadata, local publications with audio.
      for (const { page, me, other, otherType } of sides) {
        const view = await page.evaluate(() => {
          const room = window.t.room;
          const remotes = [...room.remoteParticipants.values()].map((p) => ({ identity: p.identity, memberInfo: p.memberInfo, metadata: JSON.parse(p.metadata), isLocal: p.isLocal }));
          const local = room.localParticipant;
          const pubs = [...local.trackPublications.values()].map((p) => `${p.kind}:${p.source}:${p.track?.source}:${p.isMuted}`).sort();
          return { remotes, pubs, localInfo: local.memberInfo?.appUserId, numParticipants: room.numParticipants, camera: local.isCameraEnabled, mic: local.isMicrophoneEnabled, state: room.state };
        });
        assert.equal(view.remotes.length, 1, `${me} sees one remote participant`);
        const [remote] = view.remotes;
        assert.equal(remote.identity, other);
        assert.equal(remote.isLocal, false);
        assert.equal(remote.memberInfo.appUserId, other, `${me}: memberInfo of ${other}`);
        assert.equal(remote.memberInfo.channelMemberType, otherType);
        assert.equal(remote.memberInfo.videoRoomId, room.id);
        // memberInfo is the metadata JSON, with null fields absent.
        const withoutNulls = Object.fromEntries(Object.entries(remote.metadata).filter(([, v]) => v !== null));
        assert.deepEqual(JSON.parse(JSON.stringify(remote.memberInfo)), withoutNulls);
        assert.deepEqual(view.pubs, ['audio:microphone:microphone:false', 'video:camera:camera:false'], `${me}'s local publications`);
        assert.equal(view.localInfo, me);
        assert.equal(view.camera && view.mic, true);
        assert.equal(view.state, 'CONNECTED');
      }

      // bob leaves: alice gets PARTICIPANT_DISCONNECTED with bob's wrapper.
      const calledAt = await pageB.evaluate(async () => {
        const at = Date.now();
        await window.t.room.disconnect();
        return at;
      });
      const left = await until('alice sees bob leave', () => pageA.evaluate(() => window.t.left.find((l) => l.identity === 'sdk-bob') ?? null));
      assert.equal(left.wrapper, true);
      console.log(`alice saw bob leave after ${left.at - calledAt} ms`);
      assert.ok(left.at - calledAt < LEAVE_SEEN_WITHIN_MS, `alice saw bob leave after ${left.at - calledAt} ms`);
      assert.deepEqual(await pageB.evaluate(() => window.t.disconnected), { reason: 'CLIENT_INITIATED' });

      // API calls through the SDK: update, a typed 404, two clients in one page, delete.
      const updated = await callInPage(pageA, (S, id) => S.FlipFlopCloud.updateVideoRoom(id, { title: 'sdk e2e renamed', description: 'd' }), room.id);
      assert.ok(updated.ok, JSON.stringify(updated.error));
      assert.equal(updated.value.title, 'sdk e2e renamed');
      assert.equal(updated.value.description, 'd');

      const missing = await callInPage(pageA, (S) => S.FlipFlopCloud.getVideoRoom(987654321));
      assert.equal(missing.ok, false);
      assert.deepEqual(
        { isApiError: missing.error.isApiError, isError: missing.error.isError, isNetworkError: missing.error.isNetworkError, status: missing.error.status, errorCode: missing.error.errorCode },
        { isApiError: true, isError: true, isNetworkError: false, status: 404, errorCode: 'VIDEO_ROOM_NOT_FOUND' },
      );
      assert.ok(missing.error.errorMessage.length > 0);

      const two = await callInPage(pageA, async (S, { base, a, b }) => {
        const ca = new S.FlipFlopCloudClient({ baseUrl: base, accessToken: a });
        const cb = new S.FlipFlopCloudClient({ baseUrl: base, accessToken: b });
        const [ma, mb] = await Promise.all([ca.getMe(), cb.getMe()]);
        return [ma.appUserId, mb.appUserId];
      }, { base: h.base, a: alice.accessToken, b: bob.accessToken });
      assert.deepEqual(two.value, ['sdk-alice', 'sdk-bob']);

      const deleted = await callInPage(pageA, async (S, id) => {
        await S.FlipFlopCloud.deleteVideoRoom(id);
        return S.FlipFlopCloud.getVideoRoom(id);
      }, room.id);
      assert.equal(deleted.ok, false);
      assert.equal(deleted.error.status, 404);
      assert.equal(deleted.error.errorCode, 'VIDEO_ROOM_NOT_FOUND');
      await pageA.evaluate(() => window.t.room.disconnect());
    } finally {
      await Promise.all([pageA.close(), pageB.close()]);
    }
  });
});

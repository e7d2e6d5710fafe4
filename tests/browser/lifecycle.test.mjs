// Room lifecycle with real livekit-client browsers through `vroom serve`:
//   1. presence → webhooks: joins and leaves of two browsers over two sessions produce
//      exactly one VIDEO_ROOM_PARTICIPANT_JOINED and one ..._LEFT per participant at a
//      loopback receiver of this test, with every specified field, the right sessionNo,
//      JOINED before LEFT, and an X-Vroom-Signature that verifies with the signing secret;
//   2. reconnect grace (both client versions): alice, alone in a room, has her signalling
//      WebSocket closed from the page without a Leave; the client reconnects by itself
//      (Reconnecting … Reconnected, never Disconnected) well within the 10 s grace, and the
//      session goes on: the room stays LIVE throughout (polled), `lastSessionNo` stays 1,
//      `…/sessions` lists one session, and the new participant's JOINED precedes the old
//      one's LEFT, all in session 1;
//   3. ending a live room disconnects the browsers with ROOM_CLOSED, after which media
//      credentials are refused with 409 VIDEO_ROOM_ENDED;
//   4. manual approval (both client versions): a waiting participant cannot publish and is
//      invisible; after the owner approves it (member API) it publishes without
//      reconnecting (no Reconnecting, SignalReconnecting or Reconnected event) and its video
//      is decoded on the owner's page smoothly (harness `assertSmoothVideo`); a
//      rejected one is disconnected with PARTICIPANT_REMOVED.
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Run it inside a loopback-only network namespace (scripts/test.sh does):
//   unshare -n sh -c 'ip link set lo up && node --test tests/browser/lifecycle.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASIC, CLIENTS, Harness, assertSmoothVideo, startReceiver, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 300_000;
// livekit DisconnectReason values.
const PARTICIPANT_REMOVED = 4;
const ROOM_CLOSED = 10;

const h = new Harness('lifecycle');
let receiver = null;
let signingSecret = null;

h.armWatchdog(HARD_TIMEOUT_MS);

const disconnectAll = async (...pages) => {
  for (const p of pages) await p.evaluate(() => window.t.room.disconnect()).catch(() => {});
};
const closeAll = async (...pages) => {
  for (const p of pages) await p.close().catch(() => {});
};

function verifySignature(delivery) {
  const header = delivery.headers['x-vroom-signature'] ?? '';
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=')));
  assert.ok(parts.t && parts.v1, `signature header: ${header}`);
  const expected = crypto.createHmac('sha256', signingSecret).update(`${parts.t}.${delivery.raw}`).digest('hex');
  assert.equal(parts.v1, expected, 'the signature verifies');
  assert.ok(Math.abs(Date.now() / 1000 - Number(parts.t)) < 300, 'a recent timestamp');
  assert.equal(delivery.headers['x-vroom-event-id'], delivery.body.id);
}

describe('room lifecycle with livekit-client browsers', () => {
  before(async () => {
    await h.start();
    receiver = await startReceiver();
    const callback = await h.api('PUT', '/v2/apps/me/callback-api', { basic: BASIC, body: { url: receiver.url } });
    signingSecret = callback.signingSecret;
    assert.ok(signingSecret, 'a signing secret');
  });

  after(async () => {
    receiver?.server.close();
    await h.stopAll();
  });

  // Uncaught page errors, console errors and SDK reconnects fail the test (see harness.mjs).
  afterEach(() => h.assertClean());

  it('joins and leaves produce one signed JOINED and one LEFT per participant, per session', { timeout: 120_000 }, async () => {
    const pkg = CLIENTS.old;
    const alice = await h.login('hook-alice', 'Alice');
    const bob = await h.login('hook-bob', 'Bob');
    const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: 'hooks' } });
    const creds = (who, customData) =>
      h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken, body: { customData } });
    const ofRoom = (type) => receiver.deliveries.filter((d) => d.body.type === type && d.body.data.videoRoom?.id === room.id);

    // Session 1: alice and bob.
    const pageA = await h.joinPage(pkg, await creds(alice, { seat: '1' }), 'hooks alice');
    const pageB = await h.joinPage(pkg, await creds(bob, { seat: '2' }), 'hooks bob');
    await until('two JOINED webhooks', () => ofRoom('VIDEO_ROOM_PARTICIPANT_JOINED').length >= 2);
    await disconnectAll(pageB, pageA);
    await closeAll(pageA, pageB);
    await until('two LEFT webhooks', () => ofRoom('VIDEO_ROOM_PARTICIPANT_LEFT').length >= 2);
    // Session 2: alice again.
    const pageA2 = await h.joinPage(pkg, await creds(alice, { seat: '1' }), 'hooks alice 2');
    await until('the third JOINED', () => ofRoom('VIDEO_ROOM_PARTICIPANT_JOINED').length >= 3);
    await disconnectAll(pageA2);
    await closeAll(pageA2);
    await until('the third LEFT', () => ofRoom('VIDEO_ROOM_PARTICIPANT_LEFT').length >= 3);
    await sleep(1500); // a duplicate would arrive by now

    const joined = ofRoom('VIDEO_ROOM_PARTICIPANT_JOINED');
    const left = ofRoom('VIDEO_ROOM_PARTICIPANT_LEFT');
    assert.equal(joined.length, 3, 'one JOINED per participant');
    assert.equal(left.length, 3, 'one LEFT per participant');
    const sid = (d) => d.body.data.participantSid;
    assert.equal(new Set(joined.map(sid)).size, 3);
    assert.deepEqual(new Set(left.map(sid)), new Set(joined.map(sid)));
    const expected = [
      ['hook-alice', 'Alice', 'OPERATOR', { seat: '1' }, 1],
      ['hook-bob', 'Bob', 'MEMBER', { seat: '2' }, 1],
      ['hook-alice', 'Alice', 'OPERATOR', { seat: '1' }, 2],
    ];
    joined.forEach((d, i) => {
      const [appUserId, appUserName, channelMemberType, customData, sessionNo] = expected[i];
      const { data } = d.body;
      assert.deepEqual(data.appUser, { appUserId, appUserName, channelMemberType, customData });
      assert.deepEqual(
        { ...data.videoRoom },
        { id: room.id, state: 'ACTIVE', videoRoomState: 'LIVE', type: 'VIDEO_CONFERENCE', title: 'hooks', channelId: String(room.id), sessionNo },
      );
      assert.ok(!Number.isNaN(Date.parse(data.joinedAt)), 'joinedAt is a time');
      const leave = left.find((l) => sid(l) === sid(d));
      assert.equal(leave.body.data.videoRoom.sessionNo, sessionNo);
      assert.deepEqual(leave.body.data.appUser, data.appUser);
      assert.equal(leave.body.data.leaveReason, 'LEFT');
      assert.ok(Date.parse(leave.body.data.leftAt) >= Date.parse(data.joinedAt));
      assert.ok(leave.body.seq > d.body.seq, 'JOINED before LEFT (seq)');
      assert.ok(receiver.deliveries.indexOf(leave) > receiver.deliveries.indexOf(d), 'JOINED delivered before LEFT');
    });
    // The last LEFT of a session shows the room inactive.
    assert.equal(left[left.length - 1].body.data.videoRoom.videoRoomState, 'LIVE_INACTIVE');
    for (const d of [...joined, ...left]) {
      verifySignature(d);
      assert.deepEqual(Object.keys(d.body).sort(), ['app', 'createdAt', 'data', 'id', 'seq', 'type']);
    }
  });

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    it(`${pkg}: a dropped signalling connection that comes back within the grace keeps the session`, { timeout: 90_000 }, async () => {
      const tag = pkg.replace('livekit-client-', '');
      const alice = await h.login(`grace-alice-${tag}`, 'Alice');
      const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: `grace ${tag}` } });
      const creds = await h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: alice.accessToken, body: {} });
      const roomPath = `/v2/apps/me/video-rooms/${room.id}`;
      const ofRoom = (type) => receiver.deliveries.filter((d) => d.body.type === type && d.body.data.videoRoom?.id === room.id);
      // alice is alone: were she removed when her signalling dropped, the room would go
      // LIVE_INACTIVE and her return would open session 2.
      const page = await h.joinPage(pkg, creds, `grace alice ${tag}`, {
        expectReconnect: true,
        // The newest client logs the socket this test closes as an error.
        allowConsoleErrors: [/^error reading from signal stream .*WS closed unexpectedly/],
      });
      try {
        await until('JOINED', () => ofRoom('VIDEO_ROOM_PARTICIPANT_JOINED').length === 1);
        const before = await h.api('GET', roomPath, { basic: BASIC });
        assert.deepEqual([before.videoRoomState, before.lastSessionNo], ['LIVE', 1]);
        const firstSid = await page.evaluate(() => window.t.room.localParticipant.sid);

        // Drop the signalling WebSocket from the page, without a Leave: the client
        // reconnects by itself (vroom refuses a resume, so it joins again in full).
        const states = new Set();
        let watching = true;
        const watch = (async () => {
          while (watching) {
            states.add((await h.api('GET', roomPath, { basic: BASIC })).videoRoomState);
            await sleep(100);
          }
        })();
        const droppedAt = await page.evaluate(() => {
          const ws = window.t.sockets.filter((s) => s.readyState === WebSocket.OPEN).at(-1);
          ws.close();
          return Date.now();
        });
        const back = await until('the client reconnected', () =>
          page.evaluate(() => window.t.room.state === 'connected' && window.t.reconnects.find((r) => r.event === 'Reconnected')),
        );
        console.log(`[${tag}] reconnected ${back.at - droppedAt} ms after the drop: ${JSON.stringify(await page.evaluate(() => window.t.reconnects.map((r) => r.event)))}`);
        assert.ok(back.at - droppedAt < 10_000, 'back within the 10 s grace');
        await until('the old participant LEFT', () => ofRoom('VIDEO_ROOM_PARTICIPANT_LEFT').length === 1, 20_000);
        await sleep(1000); // a stray state change or event would show by now
        watching = false;
        await watch;

        assert.deepEqual([...states], ['LIVE'], 'the room stayed LIVE throughout');
        const after = await h.api('GET', roomPath, { basic: BASIC });
        assert.deepEqual([after.videoRoomState, after.lastSessionNo], ['LIVE', 1], 'same session after the reconnect');
        const sessions = await h.api('GET', `${roomPath}/sessions`, { basic: BASIC });
        assert.equal(sessions.totalElements, 1, `one session: ${JSON.stringify(sessions.content)}`);
        assert.equal(sessions.content[0].sessionNo, 1);
        assert.equal(await page.evaluate(() => window.t.disconnected), null, 'never Disconnected');

        // A new participant (new sid) joined before the old one left, both in session 1.
        const joined = ofRoom('VIDEO_ROOM_PARTICIPANT_JOINED');
        const left = ofRoom('VIDEO_ROOM_PARTICIPANT_LEFT');
        const secondSid = await page.evaluate(() => window.t.room.localParticipant.sid);
        assert.notEqual(secondSid, firstSid, 'the client joined again as a new participant');
        assert.deepEqual(
          joined.map((d) => [d.body.data.participantSid, d.body.data.videoRoom.sessionNo]),
          [[firstSid, 1], [secondSid, 1]],
        );
        assert.deepEqual(left.map((d) => [d.body.data.participantSid, d.body.data.videoRoom.sessionNo, d.body.data.videoRoom.videoRoomState]), [[firstSid, 1, 'LIVE']]);
        assert.ok(joined[1].body.seq < left[0].body.seq, "the new participant's JOINED precedes the old one's LEFT");
        console.log(`[${tag}] the old participant left with ${left[0].body.data.leaveReason}`);
      } finally {
        await disconnectAll(page);
        await closeAll(page);
      }
    });
  }

  it('ending a live room disconnects the browsers, then credentials are refused', { timeout: 90_000 }, async () => {
    const pkg = CLIENTS.newest;
    const alice = await h.login('end-alice', 'Alice');
    const bob = await h.login('end-bob', 'Bob');
    const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: 'to end' } });
    const creds = (who) => h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken, body: {} });
    const pageA = await h.joinPage(pkg, await creds(alice), 'end alice');
    const pageB = await h.joinPage(pkg, await creds(bob), 'end bob');
    try {
      await until('alice sees bob', () => pageA.evaluate(() => window.t.connected.includes('end-bob')));
      const ended = await h.api('POST', `/v2/apps/me/video-rooms/${room.id}/end`, { basic: BASIC });
      assert.equal(ended.videoRoomState, 'ENDED');
      for (const page of [pageA, pageB]) {
        const gone = await until('the Disconnected event', () => page.evaluate(() => window.t.disconnected));
        assert.equal(gone.reason, ROOM_CLOSED);
      }
      const refused = await h.call('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: bob.accessToken, body: {} });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.errorCode, 'VIDEO_ROOM_ENDED');
    } finally {
      await closeAll(pageA, pageB);
    }
  });

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    it(`${pkg}: a waiting participant publishes once approved; a rejected one is disconnected`, { timeout: 120_000 }, async () => {
      const tag = pkg.replace('livekit-client-', '');
      const owner = await h.login(`owner-${tag}`, 'Owner');
      const guest = await h.login(`guest-${tag}`, 'Guest');
      const late = await h.login(`late-${tag}`, 'Late');
      const room = await h.api('POST', '/v2/members/me/video-rooms', {
        bearer: owner.accessToken,
        body: { title: `lobby ${tag}`, manuallyApproval: true },
      });
      const creds = (who) => h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken, body: {} });
      const participants = `/v2/members/me/video-rooms/${room.id}/participants`;
      const pageO = await h.joinPage(pkg, await creds(owner), `owner ${tag}`);
      const pageG = await h.joinPage(pkg, await creds(guest), `guest ${tag}`);
      let pageL = null;
      try {
        // Waiting: no publish permission, refused when trying, invisible to the owner.
        const before = await pageG.evaluate(async () => {
          const p = window.t.room.localParticipant.permissions;
          let error = null;
          try {
            await window.t.room.localParticipant.setCameraEnabled(true);
          } catch (e) {
            error = String(e?.message ?? e);
          }
          return { canPublish: p?.canPublish, canSubscribe: p?.canSubscribe, hidden: p?.hidden, error };
        });
        assert.deepEqual({ ...before, error: Boolean(before.error) }, { canPublish: false, canSubscribe: false, hidden: true, error: true });
        const listed = await h.api('GET', participants, { bearer: owner.accessToken });
        assert.equal(listed.find((p) => p.appUserId === `guest-${tag}`)?.waiting, true);
        assert.equal(await pageO.evaluate(() => window.t.room.remoteParticipants.size), 0, 'the waiting guest is invisible');

        // Approved: the permission arrives without a reconnect, the camera publishes, the
        // owner decodes it.
        const approved = await h.api('POST', `${participants}/guest-${tag}/approve`, { bearer: owner.accessToken });
        assert.equal(approved.waiting, false);
        await until('the guest may publish', () => pageG.evaluate(() => window.t.room.localParticipant.permissions?.canPublish === true));
        await pageG.evaluate(() => window.t.room.localParticipant.setCameraEnabled(true));
        await until('the owner subscribes to the guest video', () =>
          pageO.evaluate((id) => window.t.subscribed.some((s) => s.kind === 'video' && s.from === id), `guest-${tag}`),
        );
        // Video flows at the camera's rate without freezing once the layer has settled.
        await assertSmoothVideo(pageO, `[${tag}] owner decoding the guest`, { from: `guest-${tag}`, publisher: pageG });
        // Approval must not have gone through a reconnect (the harness also fails the test
        // on any Reconnecting/SignalReconnecting/Reconnected event).
        assert.deepEqual(await pageG.evaluate(() => ({ reconnects: window.t.reconnects, disconnected: window.t.disconnected })), {
          reconnects: [],
          disconnected: null,
        }, 'no reconnect happened');

        // Rejected: disconnected with a reason.
        pageL = await h.joinPage(pkg, await creds(late), `late ${tag}`);
        await until('the late guest listed as waiting', async () => {
          const now = await h.api('GET', participants, { bearer: owner.accessToken });
          return now.find((p) => p.appUserId === `late-${tag}`)?.waiting === true;
        });
        await h.api('POST', `${participants}/late-${tag}/reject`, { bearer: owner.accessToken });
        const gone = await until('the rejected guest disconnected', () => pageL.evaluate(() => window.t.disconnected));
        assert.equal(gone.reason, PARTICIPANT_REMOVED);
        await disconnectAll(pageG, pageO);
      } finally {
        await closeAll(pageO, pageG, ...(pageL ? [pageL] : []));
      }
    });
  }
});

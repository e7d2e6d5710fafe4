// The custom front end: our own UI on the vroom web SDK, loaded as one ES module
// (the SDK's self-contained bundle, served by our backend: no bundler needed).
//
//  1. log in to our backend → vroom member tokens (the backend holds the API secret, we don't);
//  2. FlipFlopCloud.init(vroomUrl, accessToken): the SDK now calls vroom's member API itself;
//  3. create a room through our backend (it applies the "only hosts" rule) or join one by id:
//     FlipFlopCloud.issueRtcVideoRoomToken(id) → media-server URL and token;
//  4. new FFCRtcVideoRoom(), connect, publish camera and microphone, show everyone's video;
//  5. leave.

import { FlipFlopCloud, FFCRtcVideoRoom, FFCRtcVideoRoomEvent, FFCTrack } from '/sdk/vroom-sdk.bundle.mjs';

const $ = (id) => document.getElementById(id);

/** What we know about the logged-in user; `room` is the FFCRtcVideoRoom while in one. */
const state = { vroomUrl: null, accessToken: null, refreshToken: null, member: null, room: null };
window.exampleApp = state; // handy in the console (and for the test)

// ---------------------------------------------------------------- our backend

async function backend(method, path, body, { auth = false } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (auth) headers.authorization = `Bearer ${state.accessToken}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(json.errorMessage ?? `${method} ${path} → ${res.status}`), { status: res.status, code: json.errorCode });
  return json;
}

function useTokens({ accessToken, refreshToken }) {
  state.accessToken = accessToken;
  state.refreshToken = refreshToken;
  // The SDK keeps the token it was initialised with: initialise it again after a refresh.
  FlipFlopCloud.init(state.vroomUrl, accessToken, refreshToken);
}

/** Runs `fn`; when vroom says the access token expired, renews it through our backend once and retries. */
async function withFreshToken(fn) {
  try {
    return await fn();
  } catch (err) {
    const expired = err.status === 401 || /\b401\b|EXPIRED_ACCESS_TOKEN|INVALID_ACCESS_TOKEN/.test(String(err.message));
    if (!expired || !state.refreshToken) throw err;
    useTokens(await backend('POST', '/api/token/refresh', { refreshToken: state.refreshToken }));
    return fn();
  }
}

// ---------------------------------------------------------------- UI flow

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  run(async () => {
    if (!state.vroomUrl) state.vroomUrl = (await backend('GET', '/api/config')).vroomUrl;
    const { accessToken, refreshToken, member } = await backend('POST', '/api/login', {
      userId: $('user-id').value.trim(),
      userName: $('user-name').value.trim() || undefined,
    });
    state.member = member;
    useTokens({ accessToken, refreshToken });
    $('who').textContent = `logged in as ${member.appUserName ?? member.appUserId}`;
    $('login-form').hidden = true;
    $('lobby').hidden = false;
    say('Create a room or enter the id of one.');
  });
});

$('create').addEventListener('click', () =>
  run(async () => {
    // Through our backend, not FlipFlopCloud.createVideoRoom: the backend decides who may.
    const room = await withFreshToken(() => backend('POST', '/api/rooms', { title: `${state.member.appUserId}'s room` }, { auth: true }));
    $('room-id').value = String(room.id);
    await join(room.id);
  }),
);

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  run(() => join(Number($('room-id').value)));
});

$('leave').addEventListener('click', () => run(() => state.room?.disconnect()));

async function join(roomId) {
  say(`Joining room ${roomId}…`);
  // Straight to vroom with the member token: media credentials for this room.
  const { webRtcServerUrl, webRtcToken } = await withFreshToken(() => FlipFlopCloud.issueRtcVideoRoomToken(roomId));

  const room = new FFCRtcVideoRoom({ adaptiveStream: true, dynacast: true });
  state.room = room;
  room
    .on(FFCRtcVideoRoomEvent.TRACK_SUBSCRIBED, (track, _publication, participant) => attach(track, participant))
    .on(FFCRtcVideoRoomEvent.TRACK_UNSUBSCRIBED, (track) => track.detach().forEach((el) => el.remove()))
    .on(FFCRtcVideoRoomEvent.LOCAL_TRACK_PUBLISHED, (publication, participant) => {
      // My own camera in my tile (not my microphone: no echo).
      if (publication.track?.kind === FFCTrack.Kind.Video) attach(publication.track, participant, true);
    })
    .on(FFCRtcVideoRoomEvent.PARTICIPANT_CONNECTED, (participant) => tile(participant))
    .on(FFCRtcVideoRoomEvent.PARTICIPANT_DISCONNECTED, (participant) => tileOf(participant.identity)?.remove())
    .on(FFCRtcVideoRoomEvent.DISCONNECTED, () => left());

  await room.connect(webRtcServerUrl, webRtcToken);
  tile(room.localParticipant, true);
  // Participants already there (their tracks arrive through TRACK_SUBSCRIBED).
  for (const p of room.remoteParticipants.values()) tile(p);
  $('current-room').textContent = `${roomId} (${room.name})`;
  $('lobby').hidden = true;
  $('in-room').hidden = false;
  await room.localParticipant.enableCameraAndMicrophone();
  say('In the room.');
}

function left() {
  state.room = null;
  $('tiles').replaceChildren();
  $('in-room').hidden = true;
  $('lobby').hidden = false;
  say('Left the room.');
}

// ---------------------------------------------------------------- tiles

/** The participant's display name: the member info vroom puts in the participant's metadata. */
function displayName(participant) {
  try {
    const info = JSON.parse(participant.metadata ?? '{}');
    if (info.appUserName) return info.appUserName;
  } catch {
    // not JSON: fall back to the LiveKit name
  }
  return participant.name || participant.identity;
}

function tileOf(identity) {
  return [...$('tiles').children].find((el) => el.dataset.identity === identity);
}

function tile(participant, me = false) {
  let el = tileOf(participant.identity);
  if (!el) {
    el = document.createElement('figure');
    el.className = me ? 'tile me' : 'tile';
    el.dataset.identity = participant.identity;
    const caption = document.createElement('figcaption');
    caption.textContent = displayName(participant);
    el.append(caption);
    if (me) $('tiles').prepend(el);
    else $('tiles').append(el);
  }
  return el;
}

function attach(track, participant, me = false) {
  const el = track.attach(); // a <video> or <audio> element playing the track
  if (track.kind === FFCTrack.Kind.Video) el.muted = true;
  tile(participant, me).prepend(el);
}

// ---------------------------------------------------------------- status line

function say(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

async function run(fn) {
  try {
    await fn();
  } catch (err) {
    console.warn(err);
    say(err.message ?? String(err), true);
  }
}

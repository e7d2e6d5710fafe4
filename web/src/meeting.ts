// The page's state and everything it does, apart from drawing: decode the key, ask the member
// API, prepare devices, join the media room, follow it, chat, and (for the host) admit, remove
// and end. Components read this object and call its methods; `subscribe` tells them to redraw.

import {
  ConnectionQuality,
  DisconnectReason,
  type LocalAudioTrack,
  type LocalVideoTrack,
  type Participant,
  type RemoteParticipant,
  type Room,
  RoomEvent,
  Track,
  VideoPresets,
  createLocalAudioTrack,
  createLocalVideoTrack,
} from 'livekit-client';
import { ApiFailure, type Client, type LiveParticipant, type Member, type VideoRoom } from './api';
import { postToParent } from './embed';
import { type Key, t } from './i18n';
import { type Credentials, type PageOptions, decodeKey } from './options';
import type { FFCMemberInfo } from 'vroom-sdk';
import { createClient, createMediaRoom, memberInfoOf } from './sdk';

export type Phase = 'loading' | 'token' | 'error' | 'prejoin' | 'password' | 'joining' | 'waiting' | 'room' | 'ended';
export type EndReason = 'left' | 'ended' | 'removed' | 'rejected' | 'duplicate' | 'connection';
export type Panel = 'participants' | 'chat' | 'settings' | null;
export type LayoutMode = 'grid' | 'focus';

export interface Message {
  key: Key;
  vars?: Record<string, string | number>;
}

export interface ChatMessage {
  id: string;
  from: string;
  name: string;
  text: string;
  timestamp: number;
  mine: boolean;
}

export interface TileModel {
  key: string;
  participant: Participant;
  source: 'camera' | 'screen';
}

/** The member info vroom puts in a participant's metadata (parsed by the SDK). */
export type MemberInfo = FFCMemberInfo;

export const CHAT_TOPIC = 'lk-chat-topic';
const HOST_POLL_MS = 2000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function memberInfo(p: Participant): Partial<MemberInfo> {
  return memberInfoOf(p.metadata) ?? {};
}

export function displayName(p: Participant): string {
  const info = memberInfo(p);
  const custom = info.customData?.displayName;
  return (typeof custom === 'string' && custom) || p.name || info.appUserName || p.identity;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const first = Array.from(parts[0] ?? '')[0] ?? '';
  const second = parts.length > 1 ? (Array.from(parts[parts.length - 1] ?? '')[0] ?? '') : (Array.from(parts[0] ?? '')[1] ?? '');
  return (first + second).toUpperCase();
}

function mediaErrorMessage(e: unknown, device: 'camera' | 'microphone'): Message {
  const name = e instanceof Error ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return { key: device === 'camera' ? 'cameraDenied' : 'micDenied' };
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
    return { key: device === 'camera' ? 'noCamera' : 'noMic' };
  }
  const label = t(device === 'camera' ? 'camera' : 'microphone');
  if (name === 'NotReadableError' || name === 'TrackStartError') return { key: 'deviceBusy', vars: { device: label } };
  return { key: 'deviceError', vars: { device: label, error: e instanceof Error ? e.message : String(e) } };
}

function apiMessage(e: unknown): Message {
  if (e instanceof ApiFailure) {
    if (e.status === 0) return { key: 'errNetwork' };
    if (e.code === 'EXPIRED_ACCESS_TOKEN') return { key: 'errKeyExpired' };
    if (e.status === 401) return { key: 'errKeyInvalid' };
    if (e.code === 'VIDEO_ROOM_NOT_FOUND' || e.status === 404) return { key: 'errRoomNotFound' };
    if (e.code === 'VIDEO_ROOM_ENDED') return { key: 'errRoomEnded' };
    if (e.status === 403) return { key: 'errForbidden' };
    return { key: 'errUnknown', vars: { error: `${e.code}: ${e.message}` } };
  }
  return { key: 'errUnknown', vars: { error: e instanceof Error ? e.message : String(e) } };
}

function randomId(): string {
  const a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Meeting {
  readonly opts: PageOptions;
  private listeners = new Set<() => void>();
  private scheduled = false;

  phase: Phase = 'loading';
  error: Message | null = null;
  endReason: EndReason = 'left';

  creds: Credentials | null = null;
  client: Client | null = null;
  me: Member | null = null;
  videoRoom: VideoRoom | null = null;
  isHost = false;

  // pre-join
  name = '';
  camOn = true;
  micOn = true;
  previewVideo: LocalVideoTrack | null = null;
  previewAudio: LocalAudioTrack | null = null;
  camError: Message | null = null;
  micError: Message | null = null;
  devices: { videoinput: MediaDeviceInfo[]; audioinput: MediaDeviceInfo[]; audiooutput: MediaDeviceInfo[] } = {
    videoinput: [],
    audioinput: [],
    audiooutput: [],
  };
  videoDeviceId = '';
  audioDeviceId = '';
  outputDeviceId = '';
  password = '';
  passwordWrong = false;

  // in the room
  room: Room | null = null;
  chat: ChatMessage[] = [];
  unread = 0;
  waitingList: LiveParticipant[] = [];
  layoutMode: LayoutMode = 'grid';
  layoutManual = false;
  pinned: string | null = null;
  panel: Panel = null;
  announcement = '';
  toast: Message | null = null;
  reconnecting = false;
  /** Remote audio plays (an observer starts with it off). */
  audioEnabled: boolean;
  private leaving = false;
  private pollTimer: number | undefined;
  private toastTimer: number | undefined;
  private lastSpeaker: string | null = null;
  private knownWaiting = new Set<string>();
  private seenChat = new Set<string>();

  constructor(opts: PageOptions) {
    this.opts = opts;
    this.audioEnabled = !opts.isObserver;
    if (opts.isObserver) {
      this.camOn = false;
      this.micOn = false;
    }
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Redraw soon (coalesced: many room events arrive together). */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  private fail(message: Message): void {
    this.error = message;
    this.phase = 'error';
    this.stopPreview();
    postToParent('error', { code: message.key, message: t(message.key, message.vars) });
    this.changed();
  }

  // ---- start-up --------------------------------------------------------------------------

  async start(): Promise<void> {
    const { kind, rawKey, roomUuid } = this.opts;
    if (kind === 'unknown' || !roomUuid) {
      this.fail({ key: 'errRoomNotFound' });
      return;
    }
    if (!rawKey) {
      if (kind === 'member') {
        this.phase = 'token';
        this.changed();
      } else {
        this.fail({ key: 'errKeyMissing' });
      }
      return;
    }
    await this.useKey(rawKey);
  }

  /** The key of the URL, or a token pasted into the form. */
  async useKey(raw: string): Promise<void> {
    const creds = decodeKey(raw);
    if (!creds) {
      this.fail({ key: 'errKeyInvalid' });
      return;
    }
    this.creds = creds;
    this.phase = 'loading';
    this.changed();
    const client = createClient(location.origin, creds.accessToken, creds.refreshToken);
    this.client = client;
    try {
      this.me = await client.getMe();
      this.videoRoom = await client.getVideoRoomByUuid(this.opts.roomUuid ?? '');
    } catch (e) {
      this.fail(apiMessage(e));
      return;
    }
    const state = this.videoRoom.videoRoomState;
    if (state === 'ENDED') {
      this.fail({ key: 'errRoomEnded' });
      return;
    }
    if (state === 'CANCELLED') {
      this.fail({ key: 'errRoomCancelled' });
      return;
    }
    this.isHost = this.videoRoom.member?.appUserId === this.me.appUserId;
    this.name = this.opts.displayName ?? this.me.appUserName ?? creds.memberName ?? this.me.appUserId;
    this.phase = 'prejoin';
    this.changed();
    if (!this.opts.isObserver) {
      await Promise.all([this.startPreviewVideo(), this.startPreviewAudio()]);
      await this.refreshDevices();
      navigator.mediaDevices.addEventListener('devicechange', () => void this.refreshDevices());
    }
  }

  // ---- devices ---------------------------------------------------------------------------

  async refreshDevices(): Promise<void> {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.devices = {
        videoinput: all.filter((d) => d.kind === 'videoinput' && d.deviceId),
        audioinput: all.filter((d) => d.kind === 'audioinput' && d.deviceId),
        audiooutput: all.filter((d) => d.kind === 'audiooutput' && d.deviceId),
      };
    } catch {
      // no device list: the selects stay empty
    }
    this.changed();
  }

  private async startPreviewVideo(): Promise<void> {
    if (!this.camOn || this.previewVideo) return;
    try {
      const track = await createLocalVideoTrack({
        deviceId: this.videoDeviceId || undefined,
        resolution: VideoPresets.h720.resolution,
      });
      if (this.phase !== 'prejoin' && this.phase !== 'password' && this.phase !== 'joining') {
        track.stop();
        return;
      }
      this.previewVideo = track;
      this.camError = null;
      this.videoDeviceId = track.mediaStreamTrack.getSettings().deviceId ?? this.videoDeviceId;
    } catch (e) {
      this.camError = mediaErrorMessage(e, 'camera');
      this.camOn = false;
    }
    this.changed();
  }

  private async startPreviewAudio(): Promise<void> {
    if (!this.micOn || this.previewAudio) return;
    try {
      const track = await createLocalAudioTrack({
        deviceId: this.audioDeviceId || undefined,
        echoCancellation: true,
        noiseSuppression: true,
      });
      if (this.phase !== 'prejoin' && this.phase !== 'password' && this.phase !== 'joining') {
        track.stop();
        return;
      }
      this.previewAudio = track;
      this.micError = null;
      this.audioDeviceId = track.mediaStreamTrack.getSettings().deviceId ?? this.audioDeviceId;
    } catch (e) {
      this.micError = mediaErrorMessage(e, 'microphone');
      this.micOn = false;
    }
    this.changed();
  }

  private stopPreview(): void {
    this.previewVideo?.stop();
    this.previewAudio?.stop();
    this.previewVideo = null;
    this.previewAudio = null;
  }

  async setPreviewCamera(on: boolean): Promise<void> {
    this.camOn = on;
    if (!on) {
      this.previewVideo?.stop();
      this.previewVideo = null;
      this.changed();
      return;
    }
    await this.startPreviewVideo();
  }

  async setPreviewMic(on: boolean): Promise<void> {
    this.micOn = on;
    if (!on) {
      this.previewAudio?.stop();
      this.previewAudio = null;
      this.changed();
      return;
    }
    await this.startPreviewAudio();
  }

  async chooseDevice(kind: MediaDeviceKind, deviceId: string): Promise<void> {
    if (kind === 'videoinput') this.videoDeviceId = deviceId;
    if (kind === 'audioinput') this.audioDeviceId = deviceId;
    if (kind === 'audiooutput') this.outputDeviceId = deviceId;
    this.changed();
    try {
      if (this.room) {
        await this.room.switchActiveDevice(kind, deviceId);
      } else if (kind === 'videoinput' && this.previewVideo) {
        await this.previewVideo.restartTrack({ deviceId, resolution: VideoPresets.h720.resolution });
      } else if (kind === 'audioinput' && this.previewAudio) {
        await this.previewAudio.restartTrack({ deviceId });
      }
    } catch (e) {
      this.showToast({ key: 'actionFailed', vars: { error: e instanceof Error ? e.message : String(e) } });
    }
    this.changed();
  }

  // ---- joining ---------------------------------------------------------------------------

  async join(): Promise<void> {
    const client = this.client;
    const videoRoom = this.videoRoom;
    if (!client || !videoRoom || !this.me) return;
    this.phase = 'joining';
    this.changed();
    const name = this.name.trim();
    const customData = name && name !== this.me.appUserName ? { displayName: name.slice(0, 200) } : undefined;
    let creds;
    try {
      creds = await client.issueRtcVideoRoomToken(videoRoom.id, {
        password: this.password || undefined,
        customData,
        observerGrant: this.opts.isObserver ? this.creds?.observerGrant : undefined,
      });
    } catch (e) {
      if (e instanceof ApiFailure && e.code === 'VIDEO_ROOM_PASSWORD_MISMATCH') {
        this.passwordWrong = this.password !== '';
        this.phase = 'password';
        this.changed();
        return;
      }
      this.fail(apiMessage(e));
      return;
    }
    const media = createMediaRoom({
      adaptiveStream: this.opts.adaptiveStream,
      dynacast: true,
      disconnectOnPageLeave: true,
      videoCaptureDefaults: { deviceId: this.videoDeviceId || undefined, resolution: VideoPresets.h720.resolution },
      audioCaptureDefaults: { deviceId: this.audioDeviceId || undefined, echoCancellation: true, noiseSuppression: true },
      audioOutput: this.outputDeviceId ? { deviceId: this.outputDeviceId } : undefined,
      publishDefaults: { simulcast: true, videoCodec: 'vp8', dtx: true, red: true, screenShareEncoding: { maxBitrate: 2_500_000, maxFramerate: 15 } },
    });
    const room = media.room;
    this.room = room;
    this.wire(room);
    try {
      await media.connect(creds.webRtcServerUrl, creds.webRtcToken);
    } catch (e) {
      this.room = null;
      if ((this.phase as Phase) === 'ended') return;
      this.fail({ key: 'errMedia', vars: { error: e instanceof Error ? e.message : String(e) } });
      return;
    }
    void room.startAudio().catch(() => undefined);
    if (this.isWaiting()) {
      this.phase = 'waiting';
      this.changed();
    } else {
      await this.admitted();
    }
  }

  async submitPassword(password: string): Promise<void> {
    this.password = password;
    await this.join();
  }

  private isWaiting(): boolean {
    const p = this.room?.localParticipant.permissions;
    return !!p && !p.canSubscribe && !p.canPublish;
  }

  private async admitted(): Promise<void> {
    const room = this.room;
    if (!room) return;
    this.phase = 'room';
    this.changed();
    postToParent('joined', { roomUuid: this.opts.roomUuid, identity: room.localParticipant.identity, observer: this.opts.isObserver });
    this.postCount();
    if (this.isHost) this.startPolling();
    if (this.opts.isObserver) return;
    const lp = room.localParticipant;
    try {
      if (this.camOn && this.previewVideo) {
        await lp.publishTrack(this.previewVideo, { source: Track.Source.Camera, simulcast: true });
        this.previewVideo = null;
      } else if (this.camOn) {
        await lp.setCameraEnabled(true);
      }
    } catch (e) {
      this.camError = mediaErrorMessage(e, 'camera');
      this.showToast(this.camError);
    }
    try {
      if (this.micOn && this.previewAudio) {
        await lp.publishTrack(this.previewAudio, { source: Track.Source.Microphone });
        this.previewAudio = null;
      } else if (this.micOn) {
        await lp.setMicrophoneEnabled(true);
      }
    } catch (e) {
      this.micError = mediaErrorMessage(e, 'microphone');
      this.showToast(this.micError);
    }
    // Tracks the user turned off before joining are not needed any more.
    this.stopPreview();
    this.changed();
  }

  private wire(room: Room): void {
    const redraw = () => this.changed();
    room
      .on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) => {
        this.announce({ key: 'joined', vars: { name: displayName(p) } });
        this.postCount();
        this.changed();
      })
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        this.announce({ key: 'left', vars: { name: displayName(p) } });
        if (this.pinned?.startsWith(`${p.identity}:`)) this.pinned = null;
        this.postCount();
        this.changed();
      })
      .on(RoomEvent.TrackSubscribed, redraw)
      .on(RoomEvent.TrackUnsubscribed, redraw)
      .on(RoomEvent.TrackPublished, redraw)
      .on(RoomEvent.TrackUnpublished, redraw)
      .on(RoomEvent.TrackMuted, redraw)
      .on(RoomEvent.TrackUnmuted, redraw)
      .on(RoomEvent.LocalTrackPublished, redraw)
      .on(RoomEvent.LocalTrackUnpublished, redraw)
      .on(RoomEvent.TrackStreamStateChanged, redraw)
      .on(RoomEvent.ConnectionQualityChanged, redraw)
      .on(RoomEvent.ParticipantMetadataChanged, redraw)
      .on(RoomEvent.ParticipantNameChanged, redraw)
      .on(RoomEvent.AudioPlaybackStatusChanged, redraw)
      .on(RoomEvent.ActiveDeviceChanged, redraw)
      .on(RoomEvent.MediaDevicesChanged, () => void this.refreshDevices())
      .on(RoomEvent.ActiveSpeakersChanged, (speakers: Participant[]) => {
        const remote = speakers.find((s) => !s.isLocal);
        if (remote) this.lastSpeaker = remote.identity;
        this.changed();
      })
      .on(RoomEvent.ParticipantPermissionsChanged, (_prev, p: Participant) => {
        if (p.isLocal && this.phase === 'waiting' && !this.isWaiting()) void this.admitted();
        this.changed();
      })
      .on(RoomEvent.Reconnecting, () => {
        this.reconnecting = true;
        this.changed();
      })
      .on(RoomEvent.SignalReconnecting, () => {
        this.reconnecting = true;
        this.changed();
      })
      .on(RoomEvent.Reconnected, () => {
        this.reconnecting = false;
        this.announce({ key: 'reconnected' });
        this.changed();
      })
      .on(RoomEvent.DataReceived, (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
        if (topic !== CHAT_TOPIC) return;
        this.receiveChat(new TextDecoder().decode(payload), participant);
      })
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => this.onDisconnected(reason));
  }

  private onDisconnected(reason?: DisconnectReason): void {
    if (this.phase === 'ended') return;
    let why: EndReason;
    if (this.leaving) why = 'left';
    else {
      switch (reason) {
        case DisconnectReason.CLIENT_INITIATED:
          why = 'left';
          break;
        case DisconnectReason.DUPLICATE_IDENTITY:
          why = 'duplicate';
          break;
        case DisconnectReason.PARTICIPANT_REMOVED:
          why = this.phase === 'waiting' ? 'rejected' : 'removed';
          break;
        case DisconnectReason.ROOM_DELETED:
        case DisconnectReason.ROOM_CLOSED:
          why = 'ended';
          break;
        default:
          why = 'connection';
      }
    }
    this.end(why);
  }

  private end(reason: EndReason): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.endReason = reason;
    this.reconnecting = false;
    this.stopPolling();
    this.stopPreview();
    this.room = null;
    postToParent('left', { reason });
    if (reason === 'ended') postToParent('ended', { reason });
    this.changed();
  }

  async leave(): Promise<void> {
    this.leaving = true;
    const room = this.room;
    if (room) await room.disconnect(true);
    this.end('left');
  }

  async endForAll(): Promise<void> {
    if (!this.client || !this.videoRoom) return;
    try {
      await this.client.endVideoRoom(this.videoRoom.id);
    } catch (e) {
      this.showToast({ key: 'actionFailed', vars: { error: e instanceof Error ? e.message : String(e) } });
    }
  }

  // ---- in-call controls ------------------------------------------------------------------

  canPublish(): boolean {
    return !this.opts.isObserver && !!this.room?.localParticipant.permissions?.canPublish;
  }

  async toggleMic(): Promise<void> {
    if (this.phase === 'prejoin') return this.setPreviewMic(!this.micOn);
    const lp = this.room?.localParticipant;
    if (!lp || !this.canPublish()) return;
    try {
      await lp.setMicrophoneEnabled(!lp.isMicrophoneEnabled);
      this.micError = null;
    } catch (e) {
      this.showToast(mediaErrorMessage(e, 'microphone'));
    }
    this.changed();
  }

  async toggleCamera(): Promise<void> {
    if (this.phase === 'prejoin') return this.setPreviewCamera(!this.camOn);
    const lp = this.room?.localParticipant;
    if (!lp || !this.canPublish()) return;
    try {
      await lp.setCameraEnabled(!lp.isCameraEnabled);
      this.camError = null;
    } catch (e) {
      this.showToast(mediaErrorMessage(e, 'camera'));
    }
    this.changed();
  }

  async toggleScreenShare(): Promise<void> {
    const lp = this.room?.localParticipant;
    if (!lp || !this.canPublish()) return;
    try {
      await lp.setScreenShareEnabled(!lp.isScreenShareEnabled, { audio: false, resolution: VideoPresets.h1080.resolution });
    } catch (e) {
      // Cancelling the browser's picker is not an error worth a message.
      if (!(e instanceof Error && e.name === 'NotAllowedError')) {
        this.showToast({ key: 'screenShareError', vars: { error: e instanceof Error ? e.message : String(e) } });
      }
    }
    this.changed();
  }

  toggleRemoteAudio(): void {
    this.audioEnabled = !this.audioEnabled;
    if (this.audioEnabled) void this.room?.startAudio().catch(() => undefined);
    this.changed();
  }

  startAudio(): void {
    void this.room?.startAudio().then(() => this.changed()).catch(() => undefined);
  }

  setPanel(panel: Panel): void {
    this.panel = this.panel === panel ? null : panel;
    if (this.panel === 'chat') this.unread = 0;
    this.changed();
  }

  layout(): LayoutMode {
    if (this.layoutManual) return this.layoutMode;
    return this.tiles().some((x) => x.source === 'screen') ? 'focus' : 'grid';
  }

  toggleLayout(): void {
    this.layoutMode = this.layout() === 'grid' ? 'focus' : 'grid';
    this.layoutManual = true;
    this.changed();
  }

  pin(key: string): void {
    this.pinned = this.pinned === key ? null : key;
    if (this.pinned && !this.layoutManual) {
      this.layoutMode = 'focus';
      this.layoutManual = true;
    }
    this.changed();
  }

  // ---- what to draw ----------------------------------------------------------------------

  participants(): Participant[] {
    const room = this.room;
    if (!room) return [];
    const remotes = Array.from(room.remoteParticipants.values()).sort(
      (a, b) => (a.joinedAt?.getTime() ?? 0) - (b.joinedAt?.getTime() ?? 0) || a.identity.localeCompare(b.identity),
    );
    return this.opts.isObserver ? remotes : [room.localParticipant, ...remotes];
  }

  /** Screen shares first, then everyone's camera tile (the local one first). */
  tiles(): TileModel[] {
    const people = this.participants();
    const screens: TileModel[] = [];
    const cameras: TileModel[] = [];
    for (const p of people) {
      const screen = p.getTrackPublication(Track.Source.ScreenShare);
      if (screen && !screen.isMuted && (p.isLocal || screen.track || screen.isSubscribed || screen.trackSid)) {
        screens.push({ key: `${p.identity}:screen`, participant: p, source: 'screen' });
      }
      cameras.push({ key: `${p.identity}:camera`, participant: p, source: 'camera' });
    }
    return [...screens, ...cameras];
  }

  /** The tile on the stage of the focused layout. */
  stageKey(tiles: TileModel[]): string | null {
    if (this.pinned && tiles.some((x) => x.key === this.pinned)) return this.pinned;
    const screen = tiles.find((x) => x.source === 'screen');
    if (screen) return screen.key;
    const speaker = this.lastSpeaker && tiles.find((x) => x.participant.identity === this.lastSpeaker && x.source === 'camera');
    if (speaker) return speaker.key;
    const remote = tiles.find((x) => !x.participant.isLocal);
    return (remote ?? tiles[0])?.key ?? null;
  }

  /** People others see: everyone in the room that is not hidden (this page when not an observer). */
  count(): number {
    const room = this.room;
    if (!room) return 0;
    return room.remoteParticipants.size + (this.opts.isObserver ? 0 : 1);
  }

  isHostParticipant(p: Participant): boolean {
    const info = memberInfo(p);
    if (info.channelMemberType) return info.channelMemberType === 'OPERATOR';
    return p.identity === this.videoRoom?.member?.appUserId;
  }

  // ---- chat ------------------------------------------------------------------------------

  async sendChat(text: string): Promise<void> {
    const room = this.room;
    const message = text.trim();
    if (!room || !message) return;
    const msg = { id: randomId(), timestamp: Date.now(), message };
    this.seenChat.add(msg.id);
    this.chat = [
      ...this.chat,
      { id: msg.id, from: room.localParticipant.identity, name: this.name || t('you'), text: message, timestamp: msg.timestamp, mine: true },
    ];
    this.changed();
    try {
      await room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(msg)), { reliable: true, topic: CHAT_TOPIC });
    } catch (e) {
      this.showToast({ key: 'actionFailed', vars: { error: e instanceof Error ? e.message : String(e) } });
    }
  }

  private receiveChat(text: string, participant?: RemoteParticipant): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (!isRecord(parsed) || typeof parsed.message !== 'string') return;
    const id = typeof parsed.id === 'string' ? parsed.id : randomId();
    if (this.seenChat.has(id)) return;
    this.seenChat.add(id);
    const name = participant ? displayName(participant) : '?';
    this.chat = [
      ...this.chat,
      {
        id,
        from: participant?.identity ?? '',
        name,
        text: parsed.message,
        timestamp: typeof parsed.timestamp === 'number' ? parsed.timestamp : Date.now(),
        mine: false,
      },
    ].slice(-500);
    if (this.panel !== 'chat') {
      this.unread += 1;
      this.announce({ key: 'newMessage', vars: { name } });
    }
    this.changed();
  }

  // ---- host ------------------------------------------------------------------------------

  private startPolling(): void {
    this.stopPolling();
    const poll = async () => {
      if (!this.client || !this.videoRoom || this.phase !== 'room') return;
      try {
        const list = await this.client.listVideoRoomParticipants(this.videoRoom.id);
        this.waitingList = list.filter((p) => p.waiting);
        for (const p of this.waitingList) {
          if (!this.knownWaiting.has(p.appUserId)) this.announce({ key: 'waitingArrived', vars: { name: p.appUserName ?? p.appUserId } });
        }
        this.knownWaiting = new Set(this.waitingList.map((p) => p.appUserId));
        this.changed();
      } catch {
        // try again at the next tick
      }
    };
    void poll();
    this.pollTimer = window.setInterval(() => void poll(), HOST_POLL_MS);
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) window.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  async hostAction(action: 'approve' | 'reject' | 'remove', appUserId: string): Promise<void> {
    const client = this.client;
    const id = this.videoRoom?.id;
    if (!client || id === undefined) return;
    try {
      if (action === 'approve') await client.approveVideoRoomParticipant(id, appUserId);
      if (action === 'reject') await client.rejectVideoRoomParticipant(id, appUserId);
      if (action === 'remove') await client.removeVideoRoomParticipant(id, appUserId);
      this.waitingList = this.waitingList.filter((p) => p.appUserId !== appUserId);
      this.knownWaiting.delete(appUserId);
    } catch (e) {
      this.showToast({ key: 'actionFailed', vars: { error: e instanceof Error ? e.message : String(e) } });
    }
    this.changed();
  }

  // ---- notices ---------------------------------------------------------------------------

  announce(message: Message): void {
    // A zero-width change makes screen readers read the same text twice in a row.
    const text = t(message.key, message.vars);
    this.announcement = this.announcement === text ? `${text}\u200b` : text;
    this.changed();
  }

  showToast(message: Message): void {
    this.toast = message;
    if (this.toastTimer !== undefined) window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => {
      this.toast = null;
      this.changed();
    }, 6000);
    this.changed();
  }

  private postCount(): void {
    postToParent('participants', { count: this.count() });
  }
}

export function qualityKey(q: ConnectionQuality): Key {
  switch (q) {
    case ConnectionQuality.Excellent:
      return 'qualityExcellent';
    case ConnectionQuality.Good:
      return 'qualityGood';
    case ConnectionQuality.Poor:
      return 'qualityPoor';
    case ConnectionQuality.Lost:
      return 'qualityLost';
    default:
      return 'qualityUnknown';
  }
}

// FFCRtcVideoRoom: a livekit-client Room with the official SDK's defaults, getters, methods
// and events (re-emitted with wrapper objects, in the official argument order).
import {
  Room,
  type ByteStreamHandler,
  type ConnectionQuality,
  type ConnectionState,
  type DisconnectReason,
  type LocalParticipant,
  type LocalTrackPublication,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type RoomEventCallbacks,
  type RpcInvocationData,
  type SimulationScenario,
  type SubscriptionError,
  type TextStreamHandler,
  type Track,
  type TrackPublication,
} from 'livekit-client';
import { FFCLoggerNames, applyDefaultLivekitLevel, getLogger } from '../logger';
import { connectOptionsWithDefaults, roomOptionsWithDefaults } from './defaults';
import { FFCEventEmitter } from './emitter';
import { FFCRtcVideoRoomEvent as E } from './events';
import type { FFCRtcVideoRoomConnectOptions, FFCRtcVideoRoomOptions } from './options';
import type { FFCLocalParticipant } from './participant/local';
import type { FFCParticipant } from './participant/participant';
import type { FFCRemoteParticipant } from './participant/remote';
import { wrapLocalParticipant, wrapParticipant, wrapRemoteParticipant } from './participant/wrap';
import * as kinds from './track/kinds';
import { FFCTrackPublication, wrapTrackPublication, type FFCLocalTrackPublication, type FFCRemoteTrackPublication } from './track/publication';
import type { FFCRemoteTrack } from './track/remote';
import type { FFCTrack } from './track/track';
import { wrapTrack } from './track/wrap';
import {
  FFCConnectionQuality,
  FFCConnectionState,
  FFCDisconnectReason,
  FFCParticipantPermission,
  FFCSubscriptionError,
} from './types';

const log = getLogger(FFCLoggerNames.Room);

/** livekit's metrics batch, passed on as is. */
export type FFCMetricsBatch = Parameters<RoomEventCallbacks['metricsReceived']>[0];
export type FFCTextStreamHandler = TextStreamHandler;
export type FFCByteStreamHandler = ByteStreamHandler;
export type FFCRpcInvocationData = RpcInvocationData;
type LkPermission = Parameters<typeof FFCParticipantPermission.fromParticipantPermission>[0];

/** Room events with wrapper arguments (the official SDK's order). */
export interface FFCRtcVideoRoomEventCallbacks {
  CONNECTED: () => void;
  RECONNECTING: () => void;
  SIGNAL_RECONNECTING: () => void;
  RECONNECTED: () => void;
  DISCONNECTED: (reason: FFCDisconnectReason | undefined) => void;
  CONNECTION_STATE_CHANGED: (state: FFCConnectionState) => void;
  MEDIA_DEVICES_CHANGED: () => void;
  PARTICIPANT_CONNECTED: (participant: FFCRemoteParticipant) => void;
  PARTICIPANT_DISCONNECTED: (participant: FFCRemoteParticipant) => void;
  TRACK_PUBLISHED: (publication: FFCRemoteTrackPublication, participant: FFCRemoteParticipant) => void;
  TRACK_SUBSCRIBED: (track: FFCRemoteTrack, publication: FFCRemoteTrackPublication, participant: FFCRemoteParticipant) => void;
  TRACK_SUBSCRIPTION_FAILED: (trackSid: string, participant: FFCRemoteParticipant, reason?: FFCSubscriptionError) => void;
  TRACK_UNPUBLISHED: (publication: FFCRemoteTrackPublication, participant: FFCRemoteParticipant) => void;
  TRACK_UNSUBSCRIBED: (track: FFCRemoteTrack, publication: FFCRemoteTrackPublication, participant: FFCRemoteParticipant) => void;
  TRACK_MUTED: (publication: FFCTrackPublication, participant: FFCParticipant) => void;
  TRACK_UNMUTED: (publication: FFCTrackPublication, participant: FFCParticipant) => void;
  LOCAL_TRACK_PUBLISHED: (publication: FFCLocalTrackPublication, participant: FFCLocalParticipant) => void;
  LOCAL_TRACK_UNPUBLISHED: (publication: FFCLocalTrackPublication, participant: FFCLocalParticipant) => void;
  LOCAL_AUDIO_SILENCE_DETECTED: (publication: FFCLocalTrackPublication) => void;
  ACTIVE_SPEAKERS_CHANGED: (speakers: FFCParticipant[]) => void;
  PARTICIPANT_METADATA_CHANGED: (metadata: string | undefined, participant: FFCParticipant) => void;
  PARTICIPANT_NAME_CHANGED: (name: string, participant: FFCLocalParticipant | FFCRemoteParticipant) => void;
  PARTICIPANT_ATTRIBUTES_CHANGED: (changedAttributes: Record<string, string>, participant: FFCLocalParticipant | FFCRemoteParticipant) => void;
  ROOM_METADATA_CHANGED: (metadata: string) => void;
  CONNECTION_QUALITY_CHANGED: (quality: FFCConnectionQuality, participant: FFCParticipant) => void;
  TRACK_STREAM_STATE_CHANGED: (publication: FFCRemoteTrackPublication, streamState: FFCTrack.StreamState, participant: FFCRemoteParticipant) => void;
  TRACK_SUBSCRIPTION_PERMISSION_CHANGED: (
    publication: FFCRemoteTrackPublication,
    status: FFCTrackPublication.PermissionStatus,
    participant: FFCRemoteParticipant,
  ) => void;
  TRACK_SUBSCRIPTION_STATUS_CHANGED: (
    publication: FFCRemoteTrackPublication,
    status: FFCTrackPublication.SubscriptionStatus,
    participant: FFCRemoteParticipant,
  ) => void;
  AUDIO_PLAYBACK_STATUS_CHANGED: (playing: boolean) => void;
  VIDEO_PLAYBACK_STATUS_CHANGED: (playing: boolean) => void;
  MEDIA_DEVICES_ERROR: (error: Error) => void;
  PARTICIPANT_PERMISSIONS_CHANGED: (prevPermissions: FFCParticipantPermission | undefined, participant: FFCLocalParticipant | FFCRemoteParticipant) => void;
  SIGNAL_CONNECTED: () => void;
  RECORDING_STATUS_CHANGED: (recording: boolean) => void;
  PARTICIPANT_ENCRYPTION_STATUS_CHANGED: (encrypted: boolean, participant?: FFCParticipant) => void;
  ENCRYPTION_ERROR: (error: Error) => void;
  ACTIVE_DEVICE_CHANGED: (kind: MediaDeviceKind, deviceId: string) => void;
  LOCAL_TRACK_SUBSCRIBED: (publication: FFCLocalTrackPublication, participant: FFCLocalParticipant) => void;
  METRICS_RECEIVED: (metrics: FFCMetricsBatch, participant?: FFCParticipant) => void;
  /** vroom: a data packet (`publishData`) from `participant` (undefined: from the server). */
  DATA_RECEIVED: (payload: Uint8Array, participant?: FFCRemoteParticipant, topic?: string) => void;
}

/**
 * A video room on the media server. Create it, listen to its events, then
 * `connect(webRtcServerUrl, webRtcToken)` with the credentials of
 * {@link FlipFlopCloud.issueRtcVideoRoomToken}.
 */
export class FFCRtcVideoRoom extends FFCEventEmitter<FFCRtcVideoRoomEventCallbacks> {
  private readonly _room: Room;

  /** @param opts - room options; unset ones take the official SDK's defaults (adaptiveStream and dynacast off, VP8 simulcast, DTX, RED …). */
  constructor(opts?: FFCRtcVideoRoomOptions) {
    super();
    applyDefaultLivekitLevel();
    this._room = new Room(roomOptionsWithDefaults(opts));
    this.forward();
  }

  /** Gets the media devices (needs permission for labels). */
  static getLocalDevices(kind?: MediaDeviceKind, requestPermissions = true): Promise<MediaDeviceInfo[]> {
    return Room.getLocalDevices(kind, requestPermissions);
  }

  /** The livekit-client Room inside (for what this SDK does not wrap). */
  get instance(): Room {
    return this._room;
  }

  get state(): FFCConnectionState {
    return FFCConnectionState.fromConnectionState(this._room.state);
  }

  /** Remote participants by identity (vroom: the appUserId). */
  get remoteParticipants(): Map<string, FFCRemoteParticipant> {
    const out = new Map<string, FFCRemoteParticipant>();
    this._room.remoteParticipants.forEach((p, identity) => out.set(identity, wrapRemoteParticipant(p)));
    return out;
  }

  get activeSpeakers(): FFCParticipant[] {
    return this._room.activeSpeakers.map((p) => wrapParticipant(p));
  }

  get localParticipant(): FFCLocalParticipant {
    return wrapLocalParticipant(this._room.localParticipant);
  }

  get isE2EEEnabled(): boolean {
    return this._room.isE2EEEnabled;
  }

  get options(): Room['options'] {
    return this._room.options;
  }

  get serverInfo(): Room['serverInfo'] {
    return this._room.serverInfo;
  }

  get isRecording(): boolean {
    return this._room.isRecording;
  }

  /** The media room's name (vroom: the video room's uuid). */
  get name(): string {
    return this._room.name;
  }

  get metadata(): string | undefined {
    return this._room.metadata;
  }

  get numParticipants(): number {
    return this._room.numParticipants;
  }

  get numPublishers(): number {
    return this._room.numPublishers;
  }

  get canPlaybackAudio(): boolean {
    return this._room.canPlaybackAudio;
  }

  get canPlaybackVideo(): boolean {
    return this._room.canPlaybackVideo;
  }

  getSid(): Promise<string> {
    return this._room.getSid();
  }

  getActiveDevice(kind: MediaDeviceKind): string | undefined {
    return this._room.getActiveDevice(kind);
  }

  switchActiveDevice(kind: MediaDeviceKind, deviceId: string, exact = false): Promise<boolean> {
    return this._room.switchActiveDevice(kind, deviceId, exact);
  }

  /** Warms up the connection to the media server (DNS, TLS) before `connect`. */
  prepareConnection(url: string, token?: string): Promise<void> {
    return this._room.prepareConnection(url, token);
  }

  /** Joins the room; unset options take the official defaults (autoSubscribe, one retry, 15 s timeouts). */
  async connect(url: string, token: string, opts?: FFCRtcVideoRoomConnectOptions): Promise<void> {
    log.info('connecting');
    await this._room.connect(url, token, connectOptionsWithDefaults(opts));
  }

  disconnect(stopTracks = true): Promise<void> {
    return this._room.disconnect(stopTracks);
  }

  getParticipantByIdentity(identity: string): FFCParticipant | undefined {
    const p = this._room.getParticipantByIdentity(identity);
    return p ? wrapParticipant(p) : undefined;
  }

  /** Starts audio playback; call it from a user gesture when `canPlaybackAudio` is false. */
  startAudio(): Promise<void> {
    return this._room.startAudio();
  }

  startVideo(): Promise<void> {
    return this._room.startVideo();
  }

  registerTextStreamHandler(topic: string, callback: FFCTextStreamHandler): void {
    this._room.registerTextStreamHandler(topic, callback);
  }

  unregisterTextStreamHandler(topic: string): void {
    this._room.unregisterTextStreamHandler(topic);
  }

  registerByteStreamHandler(topic: string, callback: FFCByteStreamHandler): void {
    this._room.registerByteStreamHandler(topic, callback);
  }

  unregisterByteStreamHandler(topic: string): void {
    this._room.unregisterByteStreamHandler(topic);
  }

  /** Answers `performRpc` calls of other participants for `method`. */
  registerRpcMethod(method: string, handler: (data: FFCRpcInvocationData) => Promise<string>): void {
    this._room.registerRpcMethod(method, handler);
  }

  unregisterRpcMethod(method: string): void {
    this._room.unregisterRpcMethod(method);
  }

  setE2EEEnabled(enabled: boolean): Promise<void> {
    return this._room.setE2EEEnabled(enabled);
  }

  simulateScenario(scenario: SimulationScenario, arg?: unknown): Promise<void> {
    return this._room.simulateScenario(scenario, arg);
  }

  private forward(): void {
    const room = this._room;
    const remote = (p: RemoteParticipant) => wrapRemoteParticipant(p);
    const local = (p: LocalParticipant) => wrapLocalParticipant(p);
    const any = (p: Participant) => wrapParticipant(p);
    const rpub = (p: RemoteTrackPublication) => wrapTrackPublication(p) as FFCRemoteTrackPublication;
    const lpub = (p: LocalTrackPublication) => wrapTrackPublication(p) as FFCLocalTrackPublication;
    const pub = (p: TrackPublication) => wrapTrackPublication(p);
    const track = (t: RemoteTrack) => wrapTrack(t) as FFCRemoteTrack;
    room
      .on('connected', () => this.emit(E.CONNECTED))
      .on('reconnecting', () => this.emit(E.RECONNECTING))
      .on('signalReconnecting', () => this.emit(E.SIGNAL_RECONNECTING))
      .on('reconnected', () => this.emit(E.RECONNECTED))
      .on('disconnected', (reason?: DisconnectReason) => this.emit(E.DISCONNECTED, FFCDisconnectReason.fromDisconnectReason(reason)))
      .on('connectionStateChanged', (s: ConnectionState) => this.emit(E.CONNECTION_STATE_CHANGED, FFCConnectionState.fromConnectionState(s)))
      .on('mediaDevicesChanged', () => this.emit(E.MEDIA_DEVICES_CHANGED))
      .on('participantConnected', (p: RemoteParticipant) => this.emit(E.PARTICIPANT_CONNECTED, remote(p)))
      .on('participantDisconnected', (p: RemoteParticipant) => this.emit(E.PARTICIPANT_DISCONNECTED, remote(p)))
      .on('trackPublished', (p: RemoteTrackPublication, who: RemoteParticipant) => this.emit(E.TRACK_PUBLISHED, rpub(p), remote(who)))
      .on('trackSubscribed', (t: RemoteTrack, p: RemoteTrackPublication, who: RemoteParticipant) => this.emit(E.TRACK_SUBSCRIBED, track(t), rpub(p), remote(who)))
      .on('trackSubscriptionFailed', (sid: string, who: RemoteParticipant, reason?: SubscriptionError) =>
        this.emit(E.TRACK_SUBSCRIPTION_FAILED, sid, remote(who), reason === undefined ? undefined : FFCSubscriptionError.fromSubscriptionError(reason)),
      )
      .on('trackUnpublished', (p: RemoteTrackPublication, who: RemoteParticipant) => this.emit(E.TRACK_UNPUBLISHED, rpub(p), remote(who)))
      .on('trackUnsubscribed', (t: RemoteTrack, p: RemoteTrackPublication, who: RemoteParticipant) => this.emit(E.TRACK_UNSUBSCRIBED, track(t), rpub(p), remote(who)))
      .on('trackMuted', (p: TrackPublication, who: Participant) => this.emit(E.TRACK_MUTED, pub(p), any(who)))
      .on('trackUnmuted', (p: TrackPublication, who: Participant) => this.emit(E.TRACK_UNMUTED, pub(p), any(who)))
      .on('localTrackPublished', (p: LocalTrackPublication, who: LocalParticipant) => this.emit(E.LOCAL_TRACK_PUBLISHED, lpub(p), local(who)))
      .on('localTrackUnpublished', (p: LocalTrackPublication, who: LocalParticipant) => this.emit(E.LOCAL_TRACK_UNPUBLISHED, lpub(p), local(who)))
      .on('localAudioSilenceDetected', (p: LocalTrackPublication) => this.emit(E.LOCAL_AUDIO_SILENCE_DETECTED, lpub(p)))
      .on('participantMetadataChanged', (m: string | undefined, who: Participant) => this.emit(E.PARTICIPANT_METADATA_CHANGED, m, any(who)))
      .on('participantNameChanged', (name: string, who: RemoteParticipant | LocalParticipant) =>
        this.emit(E.PARTICIPANT_NAME_CHANGED, name, any(who) as FFCLocalParticipant | FFCRemoteParticipant),
      )
      .on('participantPermissionsChanged', (prev: LkPermission | undefined, who: RemoteParticipant | LocalParticipant) =>
        this.emit(
          E.PARTICIPANT_PERMISSIONS_CHANGED,
          prev ? FFCParticipantPermission.fromParticipantPermission(prev) : undefined,
          any(who) as FFCLocalParticipant | FFCRemoteParticipant,
        ),
      )
      .on('participantAttributesChanged', (changed: Record<string, string>, who: RemoteParticipant | LocalParticipant) =>
        this.emit(E.PARTICIPANT_ATTRIBUTES_CHANGED, changed, any(who) as FFCLocalParticipant | FFCRemoteParticipant),
      )
      .on('activeSpeakersChanged', (speakers: Participant[]) => this.emit(E.ACTIVE_SPEAKERS_CHANGED, speakers.map(any)))
      .on('roomMetadataChanged', (m: string) => this.emit(E.ROOM_METADATA_CHANGED, m))
      .on('dataReceived', (payload: Uint8Array, who?: RemoteParticipant, _kind?: unknown, topic?: string) =>
        this.emit(E.DATA_RECEIVED, payload, who ? remote(who) : undefined, topic),
      )
      .on('connectionQualityChanged', (q: ConnectionQuality, who: Participant) => this.emit(E.CONNECTION_QUALITY_CHANGED, FFCConnectionQuality.fromConnectionQuality(q), any(who)))
      .on('mediaDevicesError', (error: Error) => this.emit(E.MEDIA_DEVICES_ERROR, error))
      .on('trackStreamStateChanged', (p: RemoteTrackPublication, s: Track.StreamState, who: RemoteParticipant) =>
        this.emit(E.TRACK_STREAM_STATE_CHANGED, rpub(p), kinds.fromTrackStreamState(s), remote(who)),
      )
      .on('trackSubscriptionPermissionChanged', (p: RemoteTrackPublication, s: TrackPublication.PermissionStatus, who: RemoteParticipant) =>
        this.emit(E.TRACK_SUBSCRIPTION_PERMISSION_CHANGED, rpub(p), FFCTrackPublication.fromPermissionStatus(s), remote(who)),
      )
      .on('trackSubscriptionStatusChanged', (p: RemoteTrackPublication, s: TrackPublication.SubscriptionStatus, who: RemoteParticipant) =>
        this.emit(E.TRACK_SUBSCRIPTION_STATUS_CHANGED, rpub(p), FFCTrackPublication.fromSubscriptionStatus(s), remote(who)),
      )
      .on('audioPlaybackChanged', (playing: boolean) => this.emit(E.AUDIO_PLAYBACK_STATUS_CHANGED, playing))
      .on('videoPlaybackChanged', (playing: boolean) => this.emit(E.VIDEO_PLAYBACK_STATUS_CHANGED, playing))
      .on('signalConnected', () => this.emit(E.SIGNAL_CONNECTED))
      .on('recordingStatusChanged', (recording: boolean) => this.emit(E.RECORDING_STATUS_CHANGED, recording))
      .on('participantEncryptionStatusChanged', (encrypted: boolean, who?: Participant) =>
        this.emit(E.PARTICIPANT_ENCRYPTION_STATUS_CHANGED, encrypted, who ? any(who) : undefined),
      )
      .on('encryptionError', (error: Error) => this.emit(E.ENCRYPTION_ERROR, error))
      .on('activeDeviceChanged', (kind: MediaDeviceKind, deviceId: string) => this.emit(E.ACTIVE_DEVICE_CHANGED, kind, deviceId))
      .on('localTrackSubscribed', (p: LocalTrackPublication, who: LocalParticipant) => this.emit(E.LOCAL_TRACK_SUBSCRIBED, lpub(p), local(who)))
      .on('metricsReceived', (metrics: FFCMetricsBatch, who?: Participant) => this.emit(E.METRICS_RECEIVED, metrics, who ? any(who) : undefined));
  }
}

export default FFCRtcVideoRoom;

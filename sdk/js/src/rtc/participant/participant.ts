// FFCParticipant: the base wrapper of a livekit-client participant.
import type { ConnectionQuality, Participant, RemoteTrack, RemoteTrackPublication, SubscriptionError, Track, TrackPublication } from 'livekit-client';
import { FFCEventEmitter } from '../emitter';
import { FFCParticipantEvent } from '../events';
import { registerWrapper } from '../registry';
import { FFCConnectionQuality, FFCParticipantKind, FFCParticipantPermission, FFCSubscriptionError } from '../types';
import * as kinds from '../track/kinds';
import type { FFCLocalTrackPublication, FFCRemoteTrackPublication } from '../track/publication';
import { FFCTrackPublication, wrapTrackPublication } from '../track/publication';
import type { FFCRemoteTrack } from '../track/remote';
import type { FFCTrack } from '../track/track';
import { wrapTrack } from '../track/wrap';
import { parseMemberInfo, type FFCMemberInfo } from './member-info';

/** Events of a participant, with wrappers as arguments (the official SDK's order). */
export interface FFCParticipantEventCallbacks {
  TRACK_PUBLISHED: (publication: FFCRemoteTrackPublication) => void;
  TRACK_SUBSCRIBED: (track: FFCRemoteTrack, publication: FFCRemoteTrackPublication) => void;
  TRACK_SUBSCRIPTION_FAILED: (trackSid: string, reason?: FFCSubscriptionError) => void;
  TRACK_UNPUBLISHED: (publication: FFCRemoteTrackPublication) => void;
  TRACK_UNSUBSCRIBED: (track: FFCRemoteTrack, publication: FFCRemoteTrackPublication) => void;
  TRACK_MUTED: (publication: FFCTrackPublication) => void;
  TRACK_UNMUTED: (publication: FFCTrackPublication) => void;
  LOCAL_TRACK_PUBLISHED: (publication: FFCLocalTrackPublication) => void;
  LOCAL_TRACK_UNPUBLISHED: (publication: FFCLocalTrackPublication) => void;
  PARTICIPANT_METADATA_CHANGED: (prevMetadata: string | undefined, participant?: FFCParticipant) => void;
  PARTICIPANT_NAME_CHANGED: (name: string) => void;
  IS_SPEAKING_CHANGED: (speaking: boolean) => void;
  CONNECTION_QUALITY_CHANGED: (connectionQuality: FFCConnectionQuality) => void;
  TRACK_STREAM_STATE_CHANGED: (publication: FFCRemoteTrackPublication, streamState: FFCTrack.StreamState) => void;
  TRACK_SUBSCRIPTION_PERMISSION_CHANGED: (publication: FFCRemoteTrackPublication, status: FFCTrackPublication.PermissionStatus) => void;
  MEDIA_DEVICES_ERROR: (error: Error) => void;
  AUDIO_STREAM_ACQUIRED: () => void;
  PARTICIPANT_PERMISSIONS_CHANGED: (prevPermissions?: FFCParticipantPermission) => void;
  TRACK_SUBSCRIPTION_STATUS_CHANGED: (publication: FFCRemoteTrackPublication, status: FFCTrackPublication.SubscriptionStatus) => void;
  ATTRIBUTES_CHANGED: (changedAttributes: Record<string, string>) => void;
  LOCAL_TRACK_SUBSCRIBED: (trackPublication: FFCLocalTrackPublication) => void;
}

type LkPermission = Parameters<typeof FFCParticipantPermission.fromParticipantPermission>[0];

/** @internal */
export function mapPublications<T extends FFCTrackPublication>(source: Map<string, TrackPublication>): Map<string, T> {
  const out = new Map<string, T>();
  source.forEach((pub, sid) => out.set(sid, wrapTrackPublication(pub) as T));
  return out;
}

/** A participant of the room: the local one or a remote one. */
export abstract class FFCParticipant extends FFCEventEmitter<FFCParticipantEventCallbacks> {
  protected readonly _participant: Participant;

  protected constructor(participant: Participant) {
    super();
    this._participant = participant;
    registerWrapper(participant, this);
    const pub = (p: TrackPublication) => wrapTrackPublication(p);
    const remotePub = (p: TrackPublication) => wrapTrackPublication(p) as FFCRemoteTrackPublication;
    const localPub = (p: TrackPublication) => wrapTrackPublication(p) as FFCLocalTrackPublication;
    const E = FFCParticipantEvent;
    participant
      .on('trackPublished', (p: RemoteTrackPublication) => this.emit(E.TRACK_PUBLISHED, remotePub(p)))
      .on('trackSubscribed', (t: RemoteTrack, p: RemoteTrackPublication) => this.emit(E.TRACK_SUBSCRIBED, wrapTrack(t) as FFCRemoteTrack, remotePub(p)))
      .on('trackSubscriptionFailed', (sid: string, reason?: SubscriptionError) =>
        this.emit(E.TRACK_SUBSCRIPTION_FAILED, sid, reason === undefined ? undefined : FFCSubscriptionError.fromSubscriptionError(reason)),
      )
      .on('trackUnpublished', (p: RemoteTrackPublication) => this.emit(E.TRACK_UNPUBLISHED, remotePub(p)))
      .on('trackUnsubscribed', (t: RemoteTrack, p: RemoteTrackPublication) => this.emit(E.TRACK_UNSUBSCRIBED, wrapTrack(t) as FFCRemoteTrack, remotePub(p)))
      .on('trackMuted', (p: TrackPublication) => this.emit(E.TRACK_MUTED, pub(p)))
      .on('trackUnmuted', (p: TrackPublication) => this.emit(E.TRACK_UNMUTED, pub(p)))
      .on('localTrackPublished', (p: TrackPublication) => this.emit(E.LOCAL_TRACK_PUBLISHED, localPub(p)))
      .on('localTrackUnpublished', (p: TrackPublication) => this.emit(E.LOCAL_TRACK_UNPUBLISHED, localPub(p)))
      .on('participantMetadataChanged', (prev: string | undefined) => this.emit(E.PARTICIPANT_METADATA_CHANGED, prev, this))
      .on('participantNameChanged', (name: string) => this.emit(E.PARTICIPANT_NAME_CHANGED, name))
      .on('isSpeakingChanged', (speaking: boolean) => this.emit(E.IS_SPEAKING_CHANGED, speaking))
      .on('connectionQualityChanged', (q: ConnectionQuality) => this.emit(E.CONNECTION_QUALITY_CHANGED, FFCConnectionQuality.fromConnectionQuality(q)))
      .on('trackStreamStateChanged', (p: RemoteTrackPublication, s: Track.StreamState) => this.emit(E.TRACK_STREAM_STATE_CHANGED, remotePub(p), kinds.fromTrackStreamState(s)))
      .on('trackSubscriptionPermissionChanged', (p: RemoteTrackPublication, s: TrackPublication.PermissionStatus) =>
        this.emit(E.TRACK_SUBSCRIPTION_PERMISSION_CHANGED, remotePub(p), FFCTrackPublication.fromPermissionStatus(s)),
      )
      .on('mediaDevicesError', (error: Error) => this.emit(E.MEDIA_DEVICES_ERROR, error))
      .on('audioStreamAcquired', () => this.emit(E.AUDIO_STREAM_ACQUIRED))
      .on('participantPermissionsChanged', (prev?: LkPermission) =>
        this.emit(E.PARTICIPANT_PERMISSIONS_CHANGED, prev ? FFCParticipantPermission.fromParticipantPermission(prev) : undefined),
      )
      .on('trackSubscriptionStatusChanged', (p: RemoteTrackPublication, s: TrackPublication.SubscriptionStatus) =>
        this.emit(E.TRACK_SUBSCRIPTION_STATUS_CHANGED, remotePub(p), FFCTrackPublication.fromSubscriptionStatus(s)),
      )
      .on('attributesChanged', (changed: Record<string, string>) => this.emit(E.ATTRIBUTES_CHANGED, changed))
      .on('localTrackSubscribed', (p: TrackPublication) => this.emit(E.LOCAL_TRACK_SUBSCRIBED, localPub(p)));
  }

  /** The livekit-client participant inside. */
  get instance(): Participant {
    return this._participant;
  }

  get sid(): string {
    return this._participant.sid;
  }

  /** vroom: the member's appUserId. */
  get identity(): string {
    return this._participant.identity;
  }

  get name(): string | undefined {
    return this._participant.name;
  }

  /** vroom: a JSON string, see {@link memberInfo}. */
  get metadata(): string | undefined {
    return this._participant.metadata;
  }

  /** vroom: the metadata parsed as vroom's member JSON; null if it is not one. */
  get memberInfo(): FFCMemberInfo | null {
    return parseMemberInfo(this._participant.metadata);
  }

  get lastSpokeAt(): Date | undefined {
    return this._participant.lastSpokeAt;
  }

  get permissions(): FFCParticipantPermission | undefined {
    const p = this._participant.permissions;
    return p ? FFCParticipantPermission.fromParticipantPermission(p) : undefined;
  }

  get isEncrypted(): boolean {
    return this._participant.isEncrypted;
  }

  get isAgent(): boolean {
    return this._participant.isAgent;
  }

  get kind(): FFCParticipantKind {
    return FFCParticipantKind.fromParticipantKind(this._participant.kind);
  }

  get attributes(): Readonly<Record<string, string>> {
    return this._participant.attributes;
  }

  get connectionQuality(): FFCConnectionQuality {
    return FFCConnectionQuality.fromConnectionQuality(this._participant.connectionQuality);
  }

  get isCameraEnabled(): boolean {
    return this._participant.isCameraEnabled;
  }

  get isMicrophoneEnabled(): boolean {
    return this._participant.isMicrophoneEnabled;
  }

  get isScreenShareEnabled(): boolean {
    return this._participant.isScreenShareEnabled;
  }

  get isLocal(): boolean {
    return this._participant.isLocal;
  }

  get joinedAt(): Date | undefined {
    return this._participant.joinedAt;
  }

  get audioLevel(): number {
    return this._participant.audioLevel;
  }

  set audioLevel(level: number) {
    this._participant.audioLevel = level;
  }

  get isSpeaking(): boolean {
    return this._participant.isSpeaking;
  }

  getTrackPublications(): FFCTrackPublication[] {
    return this._participant.getTrackPublications().map((p) => wrapTrackPublication(p));
  }

  getTrackPublication(source: FFCTrack.Source): FFCTrackPublication | undefined {
    const p = this._participant.getTrackPublication(kinds.toTrackSource(source));
    return p ? wrapTrackPublication(p) : undefined;
  }

  getTrackPublicationByName(name: string): FFCTrackPublication | undefined {
    const p = this._participant.getTrackPublicationByName(name);
    return p ? wrapTrackPublication(p) : undefined;
  }

  /** Audio publications by track sid. */
  get audioTrackPublications(): Map<string, FFCTrackPublication> {
    return mapPublications(this._participant.audioTrackPublications);
  }

  /** Video publications by track sid. */
  get videoTrackPublications(): Map<string, FFCTrackPublication> {
    return mapPublications(this._participant.videoTrackPublications);
  }

  /** Every publication (audio and video) by track sid. */
  get trackPublications(): Map<string, FFCTrackPublication> {
    return mapPublications(this._participant.trackPublications);
  }
}

// Track publication wrappers: FFCTrackPublication, FFCLocalTrackPublication, FFCRemoteTrackPublication.
import { LocalTrackPublication, TrackPublication, type RemoteTrackPublication } from 'livekit-client';
import { FFCEventEmitter } from '../emitter';
import { FFCTrackPublicationEvent } from '../events';
import { registerWrapper, registeredWrapper } from '../registry';
import { FFCSubscriptionError, FFCVideoQuality } from '../types';
import * as kinds from './kinds';
import type { FFCLocalAudioTrack, FFCLocalTrack, FFCLocalVideoTrack } from './local';
import type { FFCTrackPublishOptions } from './options';
import type { FFCRemoteAudioTrack, FFCRemoteTrack, FFCRemoteVideoTrack } from './remote';
import type { FFCTrack } from './track';
import { wrapTrack } from './wrap';

/** Events of a publication, with wrappers as arguments. */
export interface FFCPublicationEventCallbacks {
  MUTED: () => void;
  UNMUTED: () => void;
  ENDED: (track?: FFCTrack) => void;
  SUBSCRIPTION_PERMISSION_CHANGED: (status: FFCTrackPublication.PermissionStatus, prevStatus: FFCTrackPublication.PermissionStatus) => void;
  SUBSCRIBED: (track: FFCRemoteTrack) => void;
  UNSUBSCRIBED: (track: FFCRemoteTrack) => void;
  SUBSCRIPTION_STATUS_CHANGED: (status: FFCTrackPublication.SubscriptionStatus, prevStatus: FFCTrackPublication.SubscriptionStatus) => void;
  SUBSCRIPTION_FAILED: (error: FFCSubscriptionError) => void;
  TIME_SYNC_UPDATE: (timestamp: number) => void;
}

/** A track as published in the room (it may have no track here, e.g. not subscribed). */
export abstract class FFCTrackPublication extends FFCEventEmitter<FFCPublicationEventCallbacks> {
  protected readonly _publication: TrackPublication;

  protected constructor(publication: TrackPublication) {
    super();
    this._publication = publication;
    registerWrapper(publication, this);
    publication.on('muted', () => this.emit(FFCTrackPublicationEvent.MUTED));
    publication.on('unmuted', () => this.emit(FFCTrackPublicationEvent.UNMUTED));
    publication.on('ended', (track?: unknown) => {
      this.emit(FFCTrackPublicationEvent.ENDED, track ? wrapTrack(track as Parameters<typeof wrapTrack>[0]) : undefined);
    });
    publication.on('subscriptionPermissionChanged', (status: TrackPublication.PermissionStatus, prev: TrackPublication.PermissionStatus) => {
      this.emit(FFCTrackPublicationEvent.SUBSCRIPTION_PERMISSION_CHANGED, status, prev);
    });
    publication.on('subscribed', (track: Parameters<typeof wrapTrack>[0]) => {
      this.emit(FFCTrackPublicationEvent.SUBSCRIBED, wrapTrack(track) as FFCRemoteTrack);
    });
    publication.on('unsubscribed', (track: Parameters<typeof wrapTrack>[0]) => {
      this.emit(FFCTrackPublicationEvent.UNSUBSCRIBED, wrapTrack(track) as FFCRemoteTrack);
    });
    publication.on('subscriptionStatusChanged', (status: TrackPublication.SubscriptionStatus, prev: TrackPublication.SubscriptionStatus) => {
      this.emit(FFCTrackPublicationEvent.SUBSCRIPTION_STATUS_CHANGED, status, prev);
    });
    publication.on('subscriptionFailed', (error: Parameters<typeof FFCSubscriptionError.fromSubscriptionError>[0]) => {
      this.emit(FFCTrackPublicationEvent.SUBSCRIPTION_FAILED, FFCSubscriptionError.fromSubscriptionError(error));
    });
    publication.on('timeSyncUpdate', (timestamp: number) => this.emit(FFCTrackPublicationEvent.TIME_SYNC_UPDATE, timestamp));
  }

  /** The livekit-client publication inside. */
  get instance(): TrackPublication {
    return this._publication;
  }

  get kind(): FFCTrack.Kind {
    return kinds.fromTrackKind(this._publication.kind);
  }

  get trackName(): string {
    return this._publication.trackName;
  }

  get trackSid(): string {
    return this._publication.trackSid;
  }

  get track(): FFCTrack | undefined {
    const t = this._publication.track;
    return t ? wrapTrack(t) : undefined;
  }

  get source(): FFCTrack.Source {
    return kinds.fromTrackSource(this._publication.source);
  }

  get mimeType(): string | undefined {
    return this._publication.mimeType;
  }

  get dimensions(): FFCTrack.Dimensions | undefined {
    return this._publication.dimensions;
  }

  get simulcasted(): boolean | undefined {
    return this._publication.simulcasted;
  }

  get isMuted(): boolean {
    return this._publication.isMuted;
  }

  get isEnabled(): boolean {
    return this._publication.isEnabled;
  }

  get isSubscribed(): boolean {
    return this._publication.isSubscribed;
  }

  get isEncrypted(): boolean {
    return this._publication.isEncrypted;
  }

  abstract get isLocal(): boolean;

  get audioTrack(): FFCLocalAudioTrack | FFCRemoteAudioTrack | undefined {
    const t = this._publication.audioTrack;
    return t ? (wrapTrack(t) as FFCLocalAudioTrack | FFCRemoteAudioTrack) : undefined;
  }

  get videoTrack(): FFCLocalVideoTrack | FFCRemoteVideoTrack | undefined {
    const t = this._publication.videoTrack;
    return t ? (wrapTrack(t) as FFCLocalVideoTrack | FFCRemoteVideoTrack) : undefined;
  }
}

export namespace FFCTrackPublication {
  export enum SubscriptionStatus {
    Desired = 'desired',
    Subscribed = 'subscribed',
    Unsubscribed = 'unsubscribed',
  }
  export enum PermissionStatus {
    Allowed = 'allowed',
    NotAllowed = 'not_allowed',
  }
  /** @internal */
  export function fromSubscriptionStatus(status: TrackPublication.SubscriptionStatus): SubscriptionStatus {
    return status;
  }
  /** @internal */
  export function fromPermissionStatus(status: TrackPublication.PermissionStatus): PermissionStatus {
    return status;
  }
}

/** A publication of the local participant. */
export class FFCLocalTrackPublication extends FFCTrackPublication {
  constructor(publication: LocalTrackPublication) {
    super(publication);
  }

  override get instance(): LocalTrackPublication {
    return this._publication as LocalTrackPublication;
  }

  override get track(): FFCLocalTrack | undefined {
    return super.track as FFCLocalTrack | undefined;
  }

  override get audioTrack(): FFCLocalAudioTrack | undefined {
    return super.audioTrack as FFCLocalAudioTrack | undefined;
  }

  override get videoTrack(): FFCLocalVideoTrack | undefined {
    return super.videoTrack as FFCLocalVideoTrack | undefined;
  }

  get options(): FFCTrackPublishOptions | undefined {
    const o = this.instance.options;
    if (!o) return undefined;
    const { source, ...rest } = o;
    return source === undefined ? rest : { ...rest, source: kinds.fromTrackSource(source) };
  }

  get isUpstreamPaused(): boolean | undefined {
    return this.instance.isUpstreamPaused;
  }

  get isLocal(): boolean {
    return true;
  }

  async mute(): Promise<FFCLocalTrack | undefined> {
    const t = await this.instance.mute();
    return t ? (wrapTrack(t) as FFCLocalTrack) : undefined;
  }

  async unmute(): Promise<FFCLocalTrack | undefined> {
    const t = await this.instance.unmute();
    return t ? (wrapTrack(t) as FFCLocalTrack) : undefined;
  }

  pauseUpstream(): Promise<void> {
    return this.instance.pauseUpstream();
  }

  resumeUpstream(): Promise<void> {
    return this.instance.resumeUpstream();
  }

  getTrackFeatures(): string[] {
    return this.instance.getTrackFeatures().map((f) => String(f));
  }
}

/** A publication of a remote participant: subscribe, enable, pick a quality. */
export class FFCRemoteTrackPublication extends FFCTrackPublication {
  constructor(publication: RemoteTrackPublication) {
    super(publication);
  }

  override get instance(): RemoteTrackPublication {
    return this._publication as RemoteTrackPublication;
  }

  override get track(): FFCRemoteTrack | undefined {
    return super.track as FFCRemoteTrack | undefined;
  }

  override get audioTrack(): FFCRemoteAudioTrack | undefined {
    return super.audioTrack as FFCRemoteAudioTrack | undefined;
  }

  override get videoTrack(): FFCRemoteVideoTrack | undefined {
    return super.videoTrack as FFCRemoteVideoTrack | undefined;
  }

  get isLocal(): boolean {
    return false;
  }

  /** Subscribes to (or unsubscribes from) the track (with `autoSubscribe: false`). */
  setSubscribed(subscribed: boolean): void {
    this.instance.setSubscribed(subscribed);
  }

  get subscriptionStatus(): FFCTrackPublication.SubscriptionStatus {
    return FFCTrackPublication.fromSubscriptionStatus(this.instance.subscriptionStatus);
  }

  /** The official SDK's spelling of {@link subscriptionStatus}. */
  get subscriptionStaus(): FFCTrackPublication.SubscriptionStatus {
    return this.subscriptionStatus;
  }

  get permissionStatus(): FFCTrackPublication.PermissionStatus {
    return FFCTrackPublication.fromPermissionStatus(this.instance.permissionStatus);
  }

  get isDesired(): boolean {
    return this.instance.isDesired;
  }

  /** Pauses (false) or resumes (true) the media of a subscribed track. */
  setEnabled(enabled: boolean): void {
    this.instance.setEnabled(enabled);
  }

  setVideoQuality(quality: FFCVideoQuality): void {
    this.instance.setVideoQuality(FFCVideoQuality.toVideoQuality(quality));
  }

  setVideoDimensions(dimensions: FFCTrack.Dimensions): void {
    this.instance.setVideoDimensions(dimensions);
  }

  setVideoFPS(fps: number): void {
    this.instance.setVideoFPS(fps);
  }

  get videoQuality(): FFCVideoQuality | undefined {
    const q = this.instance.videoQuality;
    return q === undefined ? undefined : FFCVideoQuality.fromVideoQuality(q);
  }
}

/** @internal */
export function wrapTrackPublication(publication: TrackPublication): FFCTrackPublication {
  const existing = registeredWrapper<FFCTrackPublication>(publication);
  if (existing) return existing;
  return publication instanceof LocalTrackPublication
    ? new FFCLocalTrackPublication(publication)
    : new FFCRemoteTrackPublication(publication as RemoteTrackPublication);
}

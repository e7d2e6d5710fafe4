// Local track wrappers: FFCLocalTrack, FFCLocalAudioTrack, FFCLocalVideoTrack.
import {
  LocalAudioTrack,
  LocalVideoTrack,
  type AudioSenderStats,
  type LocalTrack,
  type ReplaceTrackOptions,
  type TrackProcessor,
  type Track,
  type VideoSenderStats,
} from 'livekit-client';
import { registerWrapper } from '../registry';
import { FFCVideoQuality } from '../types';
import { toTrackSource } from './kinds';
import type { FFCAudioCaptureOptions, FFCVideoCaptureOptions, FFCVideoCodec } from './options';
import { FFCTrack } from './track';

export type FFCReplaceTrackOptions = ReplaceTrackOptions;
export type FFCTrackProcessor<K extends Track.Kind = Track.Kind> = TrackProcessor<K>;

/** A track captured or provided on this page. */
export abstract class FFCLocalTrack<TrackKind extends FFCTrack.Kind = FFCTrack.Kind> extends FFCTrack<TrackKind> {
  protected constructor(track: LocalTrack) {
    super(track);
    registerWrapper(track, this);
  }

  override get instance(): LocalTrack {
    return this._track as LocalTrack;
  }

  get isLocal(): boolean {
    return true;
  }

  get id(): string {
    return this.instance.id;
  }

  get codec(): FFCVideoCodec | undefined {
    return this.instance.codec;
  }

  get constraints(): MediaTrackConstraints {
    return this.instance.constraints;
  }

  override get source(): FFCTrack.Source {
    return super.source;
  }

  override set source(source: FFCTrack.Source) {
    this.instance.source = toTrackSource(source);
  }

  get dimensions(): FFCTrack.Dimensions | undefined {
    return this.instance.dimensions;
  }

  get isUpstreamPaused(): boolean {
    return this.instance.isUpstreamPaused;
  }

  get isUserProvided(): boolean {
    return this.instance.isUserProvided;
  }

  get sender(): RTCRtpSender | undefined {
    return this.instance.sender;
  }

  getSourceTrackSettings(): MediaTrackSettings {
    return this.instance.getSourceTrackSettings();
  }

  waitForDimensions(timeoutMs = 1000): Promise<FFCTrack.Dimensions> {
    return this.instance.waitForDimensions(timeoutMs);
  }

  setDeviceId(deviceId: ConstrainDOMString): Promise<boolean> {
    return this.instance.setDeviceId(deviceId);
  }

  getDeviceId(normalize = true): Promise<string | undefined> {
    return this.instance.getDeviceId(normalize);
  }

  async mute(): Promise<this> {
    await this.instance.mute();
    return this;
  }

  async unmute(): Promise<this> {
    await this.instance.unmute();
    return this;
  }

  async replaceTrack(track: MediaStreamTrack, userProvidedOrOptions?: boolean | FFCReplaceTrackOptions): Promise<this> {
    if (typeof userProvidedOrOptions === 'boolean') await this.instance.replaceTrack(track, userProvidedOrOptions);
    else await this.instance.replaceTrack(track, userProvidedOrOptions);
    return this;
  }

  pauseUpstream(): Promise<void> {
    return this.instance.pauseUpstream();
  }

  resumeUpstream(): Promise<void> {
    return this.instance.resumeUpstream();
  }

  getRTCStatsReport(): Promise<RTCStatsReport | undefined> {
    return this.instance.getRTCStatsReport();
  }

  stopProcessor(): Promise<void> {
    return this.instance.stopProcessor();
  }
}

/** A microphone (or other audio) track of this page. */
export class FFCLocalAudioTrack extends FFCLocalTrack<FFCTrack.Kind.Audio> {
  /** Wraps a livekit LocalAudioTrack, or makes one of a MediaStreamTrack. */
  constructor(trackOrMediaTrack: LocalAudioTrack | MediaStreamTrack, constraints?: MediaTrackConstraints, userProvidedTrack = true, audioContext?: AudioContext) {
    super(trackOrMediaTrack instanceof LocalAudioTrack ? trackOrMediaTrack : new LocalAudioTrack(trackOrMediaTrack, constraints, userProvidedTrack, audioContext));
  }

  override get instance(): LocalAudioTrack {
    return this._track as LocalAudioTrack;
  }

  get stopOnMute(): boolean {
    return this.instance.stopOnMute;
  }

  set stopOnMute(value: boolean) {
    this.instance.stopOnMute = value;
  }

  get enhancedNoiseCancellation(): boolean {
    return this.instance.enhancedNoiseCancellation;
  }

  restartTrack(options?: FFCAudioCaptureOptions): Promise<void> {
    return this.instance.restartTrack(options);
  }

  setProcessor(processor: TrackProcessor<Track.Kind.Audio>): Promise<void> {
    return this.instance.setProcessor(processor);
  }

  getProcessor(): TrackProcessor<Track.Kind.Audio> | undefined {
    return this.instance.getProcessor();
  }

  getSenderStats(): Promise<AudioSenderStats | undefined> {
    return this.instance.getSenderStats();
  }

  checkForSilence(): Promise<boolean> {
    return this.instance.checkForSilence();
  }
}

/** A camera (or screen) video track of this page. */
export class FFCLocalVideoTrack extends FFCLocalTrack<FFCTrack.Kind.Video> {
  /** Wraps a livekit LocalVideoTrack, or makes one of a MediaStreamTrack. */
  constructor(trackOrMediaTrack: LocalVideoTrack | MediaStreamTrack, constraints?: MediaTrackConstraints, userProvidedTrack = true) {
    super(trackOrMediaTrack instanceof LocalVideoTrack ? trackOrMediaTrack : new LocalVideoTrack(trackOrMediaTrack, constraints, userProvidedTrack));
  }

  override get instance(): LocalVideoTrack {
    return this._track as LocalVideoTrack;
  }

  get isSimulcast(): boolean {
    return this.instance.isSimulcast;
  }

  getSenderStats(): Promise<VideoSenderStats[]> {
    return this.instance.getSenderStats();
  }

  setPublishingQuality(maxQuality: FFCVideoQuality): void {
    this.instance.setPublishingQuality(FFCVideoQuality.toVideoQuality(maxQuality));
  }

  restartTrack(options?: FFCVideoCaptureOptions): Promise<void> {
    return this.instance.restartTrack(options);
  }

  setProcessor(processor: TrackProcessor<Track.Kind.Video>, showProcessedStreamLocally = true): Promise<void> {
    return this.instance.setProcessor(processor, showProcessedStreamLocally);
  }

  getProcessor(): TrackProcessor<Track.Kind.Video> | undefined {
    return this.instance.getProcessor();
  }

  setDegradationPreference(pref: RTCDegradationPreference): Promise<void> {
    return this.instance.setDegradationPreference(pref);
  }
}

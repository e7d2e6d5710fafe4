// Remote track wrappers: FFCRemoteTrack, FFCRemoteAudioTrack, FFCRemoteVideoTrack.
import type { AudioReceiverStats, ElementInfo, RemoteAudioTrack, RemoteTrack, RemoteVideoTrack, VideoReceiverStats } from 'livekit-client';
import { registerWrapper } from '../registry';
import { FFCTrack } from './track';

export type FFCElementInfo = ElementInfo;

/** A track another participant publishes, as received here. */
export abstract class FFCRemoteTrack<TrackKind extends FFCTrack.Kind = FFCTrack.Kind> extends FFCTrack<TrackKind> {
  protected constructor(track: RemoteTrack) {
    super(track);
    registerWrapper(track, this);
  }

  override get instance(): RemoteTrack {
    return this._track as RemoteTrack;
  }

  get isLocal(): boolean {
    return false;
  }

  get receiver(): RTCRtpReceiver | undefined {
    return this.instance.receiver;
  }

  start(): void {
    this.instance.start();
  }

  getRTCStatsReport(): Promise<RTCStatsReport | undefined> {
    return this.instance.getRTCStatsReport();
  }

  setPlayoutDelay(delayInSeconds: number): void {
    this.instance.setPlayoutDelay(delayInSeconds);
  }

  getPlayoutDelay(): number {
    return this.instance.getPlayoutDelay();
  }

  registerTimeSyncUpdate(): void {
    this.instance.registerTimeSyncUpdate();
  }
}

export class FFCRemoteAudioTrack extends FFCRemoteTrack<FFCTrack.Kind.Audio> {
  constructor(track: RemoteAudioTrack) {
    super(track);
  }

  override get instance(): RemoteAudioTrack {
    return this._track as RemoteAudioTrack;
  }

  setVolume(volume: number): void {
    this.instance.setVolume(volume);
  }

  getVolume(): number {
    return this.instance.getVolume();
  }

  setSinkId(deviceId: string): Promise<void> {
    return this.instance.setSinkId(deviceId);
  }

  setAudioContext(audioContext: AudioContext | undefined): void {
    this.instance.setAudioContext(audioContext);
  }

  setWebAudioPlugins(nodes: AudioNode[]): void {
    this.instance.setWebAudioPlugins(nodes);
  }

  getReceiverStats(): Promise<AudioReceiverStats | undefined> {
    return this.instance.getReceiverStats();
  }
}

export class FFCRemoteVideoTrack extends FFCRemoteTrack<FFCTrack.Kind.Video> {
  constructor(track: RemoteVideoTrack) {
    super(track);
  }

  override get instance(): RemoteVideoTrack {
    return this._track as RemoteVideoTrack;
  }

  get isAdaptiveStream(): boolean {
    return this.instance.isAdaptiveStream;
  }

  observeElementInfo(elementInfo: FFCElementInfo): void {
    this.instance.observeElementInfo(elementInfo);
  }

  stopObservingElementInfo(elementInfo: FFCElementInfo): void {
    this.instance.stopObservingElementInfo(elementInfo);
  }

  getReceiverStats(): Promise<VideoReceiverStats | undefined> {
    return this.instance.getReceiverStats();
  }
}

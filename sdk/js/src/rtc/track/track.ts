// FFCTrack: the base wrapper of a livekit-client track (kind, source, attach/detach, events).
import type { Track } from 'livekit-client';
import { FFCEventEmitter } from '../emitter';
import { FFCTrackEvent } from '../events';
import * as kinds from './kinds';
import { FFCTrackKind, FFCTrackSource, FFCTrackStreamState } from './kinds';

/** Events of a track, with the track wrapper as argument where livekit gives the track. */
export interface FFCTrackEventCallbacks {
  MESSAGE: () => void;
  MUTED: (track?: FFCTrack) => void;
  UNMUTED: (track?: FFCTrack) => void;
  RESTARTED: (track?: FFCTrack) => void;
  ENDED: (track?: FFCTrack) => void;
  TIME_SYNC_UPDATE: (update: { timestamp: number; rtpTimestamp: number }) => void;
}

/** A local or remote audio or video track. */
export abstract class FFCTrack<TrackKind extends FFCTrack.Kind = FFCTrack.Kind> extends FFCEventEmitter<FFCTrackEventCallbacks> {
  protected readonly _track: Track;

  protected constructor(track: Track) {
    super();
    this._track = track;
    track.on('message', () => this.emit(FFCTrackEvent.MESSAGE));
    track.on('muted', () => this.emit(FFCTrackEvent.MUTED, this));
    track.on('unmuted', () => this.emit(FFCTrackEvent.UNMUTED, this));
    track.on('restarted', () => this.emit(FFCTrackEvent.RESTARTED, this));
    track.on('ended', () => this.emit(FFCTrackEvent.ENDED, this));
    track.on('timeSyncUpdate', (update: { timestamp: number; rtpTimestamp: number }) => this.emit(FFCTrackEvent.TIME_SYNC_UPDATE, update));
  }

  /** The livekit-client track inside (for what this SDK does not wrap). */
  get instance(): Track {
    return this._track;
  }

  get kind(): TrackKind {
    return kinds.fromTrackKind(this._track.kind) as TrackKind;
  }

  get source(): FFCTrack.Source {
    return kinds.fromTrackSource(this._track.source);
  }

  get sid(): string | undefined {
    return this._track.sid;
  }

  get attachedElements(): HTMLMediaElement[] {
    return this._track.attachedElements;
  }

  get isMuted(): boolean {
    return this._track.isMuted;
  }

  get mediaStream(): MediaStream | undefined {
    return this._track.mediaStream;
  }

  get streamState(): FFCTrack.StreamState {
    return kinds.fromTrackStreamState(this._track.streamState);
  }

  get rtpTimestamp(): number | undefined {
    return this._track.rtpTimestamp;
  }

  get currentBitrate(): number {
    return this._track.currentBitrate;
  }

  get mediaStreamTrack(): MediaStreamTrack {
    return this._track.mediaStreamTrack;
  }

  get mediaStreamID(): string {
    return this._track.mediaStreamID;
  }

  abstract get isLocal(): boolean;

  /** Creates an `<audio>`/`<video>` element playing the track, or plays it in `element`. */
  attach(element?: HTMLMediaElement): HTMLMediaElement {
    return element === undefined ? this._track.attach() : this._track.attach(element);
  }

  /** Stops playing in every element (returned) or in `element`. */
  detach(): HTMLMediaElement[];
  detach(element: HTMLMediaElement): HTMLMediaElement;
  detach(element?: HTMLMediaElement): HTMLMediaElement | HTMLMediaElement[] {
    return element === undefined ? this._track.detach() : this._track.detach(element);
  }

  stop(): void {
    this._track.stop();
  }
}

export namespace FFCTrack {
  export import Kind = FFCTrackKind;
  export import Source = FFCTrackSource;
  export import StreamState = FFCTrackStreamState;
  export type SID = string;
  export interface Dimensions {
    width: number;
    height: number;
  }
  export const fromTrackKind = kinds.fromTrackKind;
  export const toTrackKind = kinds.toTrackKind;
  export const fromTrackSource = kinds.fromTrackSource;
  export const toTrackSource = kinds.toTrackSource;
  export const fromTrackStreamState = kinds.fromTrackStreamState;
  export const toTrackStreamState = kinds.toTrackStreamState;
}

// Track kinds, sources and stream states (the official SDK's FFCTrack.Kind/Source/StreamState).
import { Track } from 'livekit-client';

/** A track's media kind. Also `FFCTrack.Kind`. */
export enum FFCTrackKind {
  Audio = 'audio',
  Video = 'video',
  Unknown = 'unknown',
}

/** Where a track comes from. Also `FFCTrack.Source`. */
export enum FFCTrackSource {
  Camera = 'camera',
  Microphone = 'microphone',
  ScreenShare = 'screen_share',
  ScreenShareAudio = 'screen_share_audio',
  Unknown = 'unknown',
}

/** Whether a remote track's media flows. Also `FFCTrack.StreamState`. */
export enum FFCTrackStreamState {
  Active = 'active',
  Paused = 'paused',
  Unknown = 'unknown',
}

const KINDS = Object.values(FFCTrackKind) as string[];
const SOURCES = Object.values(FFCTrackSource) as string[];
const STATES = Object.values(FFCTrackStreamState) as string[];

export function fromTrackKind(kind: Track.Kind | string): FFCTrackKind {
  return KINDS.includes(kind) ? (kind as FFCTrackKind) : FFCTrackKind.Unknown;
}

export function toTrackKind(kind: FFCTrackKind): Track.Kind {
  return kind as string as Track.Kind;
}

/** livekit's source (a string, or the protocol's number) as an FFC source. */
export function fromTrackSource(source: Track.Source | number | string): FFCTrackSource {
  const s = typeof source === 'number' ? Track.sourceFromProto(source) : source;
  return SOURCES.includes(s) ? (s as FFCTrackSource) : FFCTrackSource.Unknown;
}

export function toTrackSource(source: FFCTrackSource): Track.Source {
  return source as string as Track.Source;
}

export function fromTrackStreamState(state: Track.StreamState | string): FFCTrackStreamState {
  return STATES.includes(state) ? (state as FFCTrackStreamState) : FFCTrackStreamState.Unknown;
}

export function toTrackStreamState(state: FFCTrackStreamState): Track.StreamState {
  return state as string as Track.StreamState;
}

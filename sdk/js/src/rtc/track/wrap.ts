// livekit-client track → its FFC wrapper (created on first use, then the same object).
import { LocalAudioTrack, LocalVideoTrack, RemoteAudioTrack, RemoteVideoTrack, type Track } from 'livekit-client';
import { FFCTrackInvalidError } from '../../errors';
import { registeredWrapper } from '../registry';
import { FFCLocalAudioTrack, FFCLocalVideoTrack, type FFCLocalTrack } from './local';
import { FFCRemoteAudioTrack, FFCRemoteVideoTrack, type FFCRemoteTrack } from './remote';
import type { FFCTrack } from './track';

/** @internal */
export function wrapTrack(track: Track): FFCTrack {
  const existing = registeredWrapper<FFCTrack>(track);
  if (existing) return existing;
  if (track instanceof LocalAudioTrack) return new FFCLocalAudioTrack(track);
  if (track instanceof LocalVideoTrack) return new FFCLocalVideoTrack(track);
  if (track instanceof RemoteAudioTrack) return new FFCRemoteAudioTrack(track);
  if (track instanceof RemoteVideoTrack) return new FFCRemoteVideoTrack(track);
  throw new FFCTrackInvalidError(`cannot wrap a track of kind ${track.kind}`);
}

/** @internal */
export function wrapLocalTrack(track: Track): FFCLocalTrack {
  return wrapTrack(track) as FFCLocalTrack;
}

/** @internal */
export function wrapRemoteTrack(track: Track): FFCRemoteTrack {
  return wrapTrack(track) as FFCRemoteTrack;
}

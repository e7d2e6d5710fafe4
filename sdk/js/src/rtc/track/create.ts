// Creating local tracks before (or without) a room, with the official SDK's capture defaults.
import { createLocalScreenTracks as lkScreen, createLocalTracks as lkTracks } from 'livekit-client';
import { AUDIO_DEFAULTS, VIDEO_DEFAULTS } from '../defaults';
import type { FFCLocalAudioTrack, FFCLocalTrack, FFCLocalVideoTrack } from './local';
import type { FFCAudioCaptureOptions, FFCCreateLocalTracksOptions, FFCScreenShareCaptureOptions, FFCVideoCaptureOptions } from './options';
import { wrapTrack } from './wrap';

function withDefaults<T extends object>(opt: boolean | T | undefined, defaults: T): false | T {
  if (opt === false) return false;
  return { ...defaults, ...(opt === true || opt === undefined ? {} : opt) };
}

/** Captures the microphone and/or camera (both by default). */
export async function createLocalTracks(options?: FFCCreateLocalTracksOptions): Promise<FFCLocalTrack[]> {
  const tracks = await lkTracks({
    ...options,
    audio: withDefaults(options?.audio, AUDIO_DEFAULTS),
    video: withDefaults(options?.video, VIDEO_DEFAULTS),
  });
  return tracks.map((t) => wrapTrack(t) as FFCLocalTrack);
}

export async function createLocalVideoTrack(options?: FFCVideoCaptureOptions): Promise<FFCLocalVideoTrack> {
  const [track] = await createLocalTracks({ audio: false, video: options ?? true });
  return track as FFCLocalVideoTrack;
}

export async function createLocalAudioTrack(options?: FFCAudioCaptureOptions): Promise<FFCLocalAudioTrack> {
  const [track] = await createLocalTracks({ audio: options ?? true, video: false });
  return track as FFCLocalAudioTrack;
}

/** Captures the screen (getDisplayMedia): a video track, and an audio track when asked and possible. */
export async function createLocalScreenTracks(options?: FFCScreenShareCaptureOptions): Promise<FFCLocalTrack[]> {
  return (await lkScreen(options)).map((t) => wrapTrack(t) as FFCLocalTrack);
}

// Capture, publish and preset types. Their shapes are livekit-client's (the official SDK
// mirrors them field by field); sources use FFCTrack.Source.
import {
  AudioPresets,
  ScreenSharePresets,
  VideoPreset,
  VideoPresets,
  VideoPresets43,
  type AudioCaptureOptions,
  type AudioOutputOptions,
  type AudioPreset,
  type BackupVideoCodec,
  type CreateLocalTracksOptions,
  type ScreenShareCaptureOptions,
  type TrackPublishDefaults,
  type TrackPublishOptions,
  type VideoCaptureOptions,
  type VideoCodec,
  type VideoEncoding,
  type VideoResolution,
} from 'livekit-client';
import type { FFCTrackSource } from './kinds';
import { toTrackSource } from './kinds';

export type FFCAudioCaptureOptions = AudioCaptureOptions;
export type FFCVideoCaptureOptions = VideoCaptureOptions;
export type FFCScreenShareCaptureOptions = ScreenShareCaptureOptions;
export type FFCCreateLocalTracksOptions = CreateLocalTracksOptions;
export type FFCAudioOutputOptions = AudioOutputOptions;
export type FFCVideoResolution = VideoResolution;
export type FFCVideoEncoding = VideoEncoding;
export type FFCAudioPreset = AudioPreset;
export type FFCVideoCodec = VideoCodec;
export type FFCBackupVideoCodec = BackupVideoCodec;
export type FFCTrackPublishDefaults = TrackPublishDefaults;
export type FFCFacingMode = NonNullable<VideoCaptureOptions['facingMode']>;

/** Options of one publication: the defaults plus name, source and stream. */
export type FFCTrackPublishOptions = Omit<TrackPublishOptions, 'source'> & { source?: FFCTrackSource };

export namespace FFCTrackPublishOptions {
  /** @internal */
  export function toTrackPublishOptions(opts: FFCTrackPublishOptions | undefined): TrackPublishOptions | undefined {
    if (!opts) return undefined;
    const { source, ...rest } = opts;
    return source === undefined ? rest : { ...rest, source: toTrackSource(source) };
  }
}

/** A resolution with its encoding (livekit-client's VideoPreset). */
export const FFCVideoPreset = VideoPreset;
export type FFCVideoPreset = VideoPreset;

/** 16:9 camera presets (`h90` … `h2160`). */
export const FFCVideoPresets = VideoPresets;
/** 4:3 camera presets. */
export const FFCVideoPresets43 = VideoPresets43;
/** Screen share presets (`h360fps3` … `original`). */
export const FFCScreenSharePresets = ScreenSharePresets;
/** Audio encodings (`telephone`, `speech`, `music`, `musicStereo`, `musicHighQuality`, `musicHighQualityStereo`). */
export const FFCAudioPresets = AudioPresets;

export const FFCVideoCodecs = ['vp8', 'h264', 'vp9', 'av1', 'h265'] as const;
export const FFCBackupCodecs = ['vp8', 'h264'] as const;

export function isBackupCodec(codec: string): codec is FFCBackupVideoCodec {
  return (FFCBackupCodecs as readonly string[]).includes(codec);
}

// The official SDK's defaults (its src/rtc/defaults.ts): what a room uses unless told otherwise.
import { AudioPresets, DefaultReconnectPolicy, ScreenSharePresets, VideoPresets, type RoomConnectOptions, type RoomOptions, type TrackPublishDefaults } from 'livekit-client';
import type { FFCAudioCaptureOptions, FFCVideoCaptureOptions } from './track/options';

export const DEFAULT_VIDEO_CODEC = 'vp8';

export const PUBLISH_DEFAULTS: TrackPublishDefaults = {
  audioPreset: AudioPresets.music,
  dtx: true,
  red: true,
  forceStereo: false,
  simulcast: true,
  screenShareEncoding: ScreenSharePresets.h1080fps15.encoding,
  stopMicTrackOnMute: false,
  videoCodec: DEFAULT_VIDEO_CODEC,
  backupCodec: true,
};

export const AUDIO_DEFAULTS: FFCAudioCaptureOptions = {
  deviceId: 'default',
  autoGainControl: true,
  echoCancellation: true,
  noiseSuppression: true,
  voiceIsolation: true,
};

export const VIDEO_DEFAULTS: FFCVideoCaptureOptions = {
  deviceId: 'default',
  resolution: VideoPresets.h720.resolution,
};

/** Room options without the reconnect policy (a new one per room). */
export const RTC_VIDEO_ROOM_OPTION_DEFAULTS = {
  adaptiveStream: false,
  dynacast: false,
  stopLocalTrackOnUnpublish: true,
  disconnectOnPageLeave: true,
  webAudioMix: false,
} as const;

export const RTC_VIDEO_ROOM_CONNECT_OPTION_DEFAULTS: RoomConnectOptions = {
  autoSubscribe: true,
  maxRetries: 1,
  peerConnectionTimeout: 15_000,
  websocketTimeout: 15_000,
};

/** The official defaults, overridden by `opts` (capture and publish defaults merged field by field). */
export function roomOptionsWithDefaults(opts: RoomOptions = {}): RoomOptions {
  return {
    ...RTC_VIDEO_ROOM_OPTION_DEFAULTS,
    reconnectPolicy: new DefaultReconnectPolicy(),
    ...opts,
    audioCaptureDefaults: { ...AUDIO_DEFAULTS, ...opts.audioCaptureDefaults },
    videoCaptureDefaults: { ...VIDEO_DEFAULTS, ...opts.videoCaptureDefaults },
    publishDefaults: { ...PUBLISH_DEFAULTS, ...opts.publishDefaults },
  };
}

export function connectOptionsWithDefaults(opts: RoomConnectOptions = {}): RoomConnectOptions {
  return { ...RTC_VIDEO_ROOM_CONNECT_OPTION_DEFAULTS, ...opts };
}

/**
 * vroom web SDK: the FlipFlop Cloud web SDK's public API (`FlipFlopCloud`,
 * `FFCRtcVideoRoom`, the `FFC…` participants, tracks, publications, events, enums and DTOs)
 * implemented for vroom, so that an application ports by changing its import.
 *
 * What this package owns: calling vroom's member API (`/v2/members/me/**`) with a member's
 * tokens — typed errors, token renewal, several clients per page — and wrapping
 * livekit-client's `Room` for the media side with the official SDK's defaults and names.
 *
 * What it must not do: hold app credentials (API key/secret: those stay on the customer's
 * server), log tokens or response bodies (its logger is silent by default), or talk to
 * anything but the API base URL and the media URL it is given.
 *
 * @packageDocumentation
 */

export { version } from './version';

// ---- member API
export { FlipFlopCloud } from './api/flipflop-cloud';
export { FlipFlopCloudClient } from './api/client';
export type { FlipFlopCloudClientOptions, FetchLike } from './api/http';
export { RENEWABLE_ERROR_CODES } from './api/http';
export { FFCAccessLevel, FFCChannelMemberType, FFCCreatorType, FFCVideoRoomState, FFCVideoRoomType } from './api/enums';
export { FFCMembersSortOption, FFCVideoRoomsSortOption } from './api/query';
export type { FFCQuery, FFCListMembersQuery, FFCListVideoRoomsQuery, FFCListVideoRoomSessionsQuery } from './api/query';
export type {
  FFCCreateVideoRoomParams,
  FFCUpdateVideoRoomParams,
  FFCIssueRtcVideoRoomTokenParams,
  FFCCustomData,
  FFCSdkOptions,
} from './api/params';
export type {
  FFCPagesDto,
  FFCTimestampDto,
  FFCNestedAppDto,
  FFCNestedMemberDto,
  FFCMemberDto,
  FFCMemberCredentialsDto,
  FFCTokensRefreshedDto,
  FFCVideoRoomPolicyDto,
  FFCVideoRoomDto,
  FFCRtcVideoRoomTokenDto,
  FFCRtcVideoRoomTokensDto,
  FFCVideoRoomSessionDto,
  FFCVideoRoomSessionParticipantDto,
  FFCVideoRoomParticipantDto,
} from './api/data';

// ---- errors and logging
export {
  FFCError,
  FFCApiError,
  FFCNetworkError,
  FFCCliCredentialsError,
  SdkNotInitializedError,
  InvalidFFCEnumStringError,
  FFCDeviceUnsupportedError,
  FFCTrackInvalidError,
  FFCMediaDeviceFailure,
} from './errors';
export { FFCLogLevel, FFCLoggerNames, getLogger, setLogLevel, setLogExtension } from './logger';
export type { FFCLogExtension, FFCLogLevelString, FFCStructuredLogger } from './logger';

// ---- RTC
export { FFCRtcVideoRoom } from './rtc/room';
export type { FFCRtcVideoRoomEventCallbacks, FFCMetricsBatch, FFCTextStreamHandler, FFCByteStreamHandler, FFCRpcInvocationData } from './rtc/room';
export type { FFCRtcVideoRoomOptions, FFCRtcVideoRoomConnectOptions, FFCInternalRtcVideoRoomOptions } from './rtc/options';
export {
  DEFAULT_VIDEO_CODEC,
  PUBLISH_DEFAULTS,
  AUDIO_DEFAULTS,
  VIDEO_DEFAULTS,
  RTC_VIDEO_ROOM_OPTION_DEFAULTS,
  RTC_VIDEO_ROOM_CONNECT_OPTION_DEFAULTS,
} from './rtc/defaults';
export { FFCRtcVideoRoomEvent, FFCParticipantEvent, FFCTrackEvent, FFCTrackPublicationEvent } from './rtc/events';
export {
  FFCConnectionState,
  FFCConnectionQuality,
  FFCDisconnectReason,
  FFCParticipantKind,
  FFCSubscriptionError,
  FFCVideoQuality,
  FFCParticipantPermission,
} from './rtc/types';
export type { FFCParticipantTrackPermission } from './rtc/types';
export { FFCParticipant } from './rtc/participant/participant';
export type { FFCParticipantEventCallbacks } from './rtc/participant/participant';
export { FFCLocalParticipant } from './rtc/participant/local';
export { FFCRemoteParticipant } from './rtc/participant/remote';
export { parseMemberInfo } from './rtc/participant/member-info';
export type { FFCMemberInfo } from './rtc/participant/member-info';
export { FFCTrack } from './rtc/track/track';
export type { FFCTrackEventCallbacks } from './rtc/track/track';
export { FFCTrackKind, FFCTrackSource, FFCTrackStreamState } from './rtc/track/kinds';
export { FFCLocalTrack, FFCLocalAudioTrack, FFCLocalVideoTrack } from './rtc/track/local';
export type { FFCReplaceTrackOptions, FFCTrackProcessor } from './rtc/track/local';
export { FFCRemoteTrack, FFCRemoteAudioTrack, FFCRemoteVideoTrack } from './rtc/track/remote';
export type { FFCElementInfo } from './rtc/track/remote';
export { FFCTrackPublication, FFCLocalTrackPublication, FFCRemoteTrackPublication } from './rtc/track/publication';
export type { FFCPublicationEventCallbacks } from './rtc/track/publication';
export {
  FFCTrackPublishOptions,
  FFCVideoPreset,
  FFCVideoPresets,
  FFCVideoPresets43,
  FFCScreenSharePresets,
  FFCAudioPresets,
  FFCVideoCodecs,
  FFCBackupCodecs,
  isBackupCodec,
} from './rtc/track/options';
export type {
  FFCAudioCaptureOptions,
  FFCVideoCaptureOptions,
  FFCScreenShareCaptureOptions,
  FFCCreateLocalTracksOptions,
  FFCAudioOutputOptions,
  FFCVideoResolution,
  FFCVideoEncoding,
  FFCAudioPreset,
  FFCVideoCodec,
  FFCBackupVideoCodec,
  FFCTrackPublishDefaults,
  FFCFacingMode,
} from './rtc/track/options';
export { createLocalTracks, createLocalVideoTrack, createLocalAudioTrack, createLocalScreenTracks } from './rtc/track/create';
export {
  sleep,
  isLocalParticipant,
  isRemoteParticipant,
  isLocalTrack,
  isRemoteTrack,
  isAudioTrack,
  isVideoTrack,
  isLocalAudioTrack,
  isLocalVideoTrack,
} from './rtc/utils';
export {
  DefaultReconnectPolicy as FFCDefaultReconnectPolicy,
  CriticalTimers as FFCCriticalTimers,
  compareVersions,
  getBrowser,
  isBrowserSupported,
  supportsAdaptiveStream,
  supportsDynacast,
  supportsAV1,
  supportsVP9,
  getEmptyAudioStreamTrack,
  getEmptyVideoStreamTrack,
  createAudioAnalyser,
  facingModeFromDeviceLabel,
  facingModeFromLocalTrack,
} from 'livekit-client';
export type {
  ReconnectPolicy as FFCReconnectPolicy,
  ReconnectContext as FFCReconnectContext,
  AudioAnalyserOptions as FFCAudioAnalyserOptions,
  AudioReceiverStats as FFCAudioReceiverStats,
  AudioSenderStats as FFCAudioSenderStats,
  VideoReceiverStats as FFCVideoReceiverStats,
  VideoSenderStats as FFCVideoSenderStats,
} from 'livekit-client';

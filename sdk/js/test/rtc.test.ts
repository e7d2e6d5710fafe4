import { ConnectionQuality, ConnectionState, DisconnectReason, ParticipantKind, SubscriptionError, Track, VideoQuality } from 'livekit-client';
import { describe, expect, it } from 'vitest';
import {
  AUDIO_DEFAULTS,
  FFCConnectionQuality,
  FFCConnectionState,
  FFCDisconnectReason,
  FFCParticipantEvent,
  FFCParticipantKind,
  FFCRtcVideoRoom,
  FFCRtcVideoRoomEvent,
  FFCSubscriptionError,
  FFCTrack,
  FFCTrackEvent,
  FFCTrackKind,
  FFCTrackPublicationEvent,
  FFCTrackSource,
  FFCVideoPresets,
  FFCVideoQuality,
  PUBLISH_DEFAULTS,
  RTC_VIDEO_ROOM_CONNECT_OPTION_DEFAULTS,
  RTC_VIDEO_ROOM_OPTION_DEFAULTS,
  parseMemberInfo,
} from '../src/index';

describe('RTC enums', () => {
  it('event enums: every value is its name', () => {
    for (const e of [FFCRtcVideoRoomEvent, FFCParticipantEvent, FFCTrackEvent, FFCTrackPublicationEvent]) {
      for (const [k, v] of Object.entries(e)) expect(v).toBe(k);
    }
    expect(Object.keys(FFCRtcVideoRoomEvent)).toContain('PARTICIPANT_DISCONNECTED');
    expect(Object.keys(FFCRtcVideoRoomEvent)).toHaveLength(40);
  });

  it('FFCTrack.Kind/Source/StreamState are the official values, also as FFCTrackKind/FFCTrackSource', () => {
    expect(FFCTrack.Kind.Video).toBe('video');
    expect(FFCTrack.Source.ScreenShareAudio).toBe('screen_share_audio');
    expect(FFCTrack.StreamState.Paused).toBe('paused');
    expect(FFCTrackKind).toBe(FFCTrack.Kind);
    expect(FFCTrackSource).toBe(FFCTrack.Source);
    expect(FFCTrack.fromTrackSource(Track.Source.Camera)).toBe(FFCTrackSource.Camera);
    expect(FFCTrack.fromTrackSource(2)).toBe(FFCTrackSource.Microphone); // protocol number
    expect(FFCTrack.fromTrackKind('data')).toBe(FFCTrackKind.Unknown);
  });

  it('maps livekit values', () => {
    expect(FFCConnectionState.fromConnectionState(ConnectionState.SignalReconnecting)).toBe(FFCConnectionState.SIGNAL_RECONNECTING);
    expect(FFCConnectionQuality.fromConnectionQuality(ConnectionQuality.Poor)).toBe(FFCConnectionQuality.POOR);
    expect(FFCDisconnectReason.fromDisconnectReason(DisconnectReason.PARTICIPANT_REMOVED)).toBe(FFCDisconnectReason.PARTICIPANT_REMOVED);
    expect(FFCDisconnectReason.fromDisconnectReason(DisconnectReason.CLIENT_INITIATED)).toBe('CLIENT_INITIATED');
    expect(FFCDisconnectReason.fromDisconnectReason(undefined)).toBeUndefined();
    expect(FFCParticipantKind.fromParticipantKind(ParticipantKind.AGENT)).toBe(FFCParticipantKind.AGENT);
    expect(FFCSubscriptionError.fromSubscriptionError(SubscriptionError.SE_TRACK_NOTFOUND)).toBe(FFCSubscriptionError.TRACK_NOTFOUND);
    expect(FFCVideoQuality.toVideoQuality(FFCVideoQuality.MEDIUM)).toBe(VideoQuality.MEDIUM);
    expect(FFCVideoQuality.fromVideoQuality(VideoQuality.HIGH)).toBe(FFCVideoQuality.HIGH);
  });
});

describe('defaults', () => {
  it('are the official ones', () => {
    expect(RTC_VIDEO_ROOM_OPTION_DEFAULTS).toEqual({ adaptiveStream: false, dynacast: false, stopLocalTrackOnUnpublish: true, disconnectOnPageLeave: true, webAudioMix: false });
    expect(RTC_VIDEO_ROOM_CONNECT_OPTION_DEFAULTS).toEqual({ autoSubscribe: true, maxRetries: 1, peerConnectionTimeout: 15_000, websocketTimeout: 15_000 });
    expect(PUBLISH_DEFAULTS).toMatchObject({ videoCodec: 'vp8', simulcast: true, dtx: true, red: true, backupCodec: true, forceStereo: false, stopMicTrackOnMute: false });
    expect(AUDIO_DEFAULTS).toMatchObject({ echoCancellation: true, noiseSuppression: true, autoGainControl: true });
    expect(FFCVideoPresets.h720.resolution).toMatchObject({ width: 1280, height: 720 });
  });

  it('a new room applies them; given options win', () => {
    const room = new FFCRtcVideoRoom();
    expect(room.options).toMatchObject({ adaptiveStream: false, dynacast: false, publishDefaults: { videoCodec: 'vp8', simulcast: true, red: true, dtx: true } });
    expect(room.state).toBe(FFCConnectionState.DISCONNECTED);
    expect(room.remoteParticipants.size).toBe(0);
    expect(room.localParticipant).toBe(room.localParticipant);
    const tuned = new FFCRtcVideoRoom({ adaptiveStream: true, dynacast: true, publishDefaults: { videoCodec: 'h264' } });
    expect(tuned.options).toMatchObject({ adaptiveStream: true, dynacast: true, publishDefaults: { videoCodec: 'h264', simulcast: true } });
  });

  it('re-emits livekit events with wrappers, in the official order', () => {
    const room = new FFCRtcVideoRoom();
    const got: unknown[][] = [];
    room.on(FFCRtcVideoRoomEvent.CONNECTION_STATE_CHANGED, (s) => got.push(['state', s]));
    room.on(FFCRtcVideoRoomEvent.DISCONNECTED, (r) => got.push(['disconnected', r]));
    room.on(FFCRtcVideoRoomEvent.PARTICIPANT_METADATA_CHANGED, (m, p) => got.push(['meta', m, p]));
    room.instance.emit('connectionStateChanged', ConnectionState.Connected);
    room.instance.emit('disconnected', DisconnectReason.DUPLICATE_IDENTITY);
    room.instance.emit('participantMetadataChanged', 'old', room.instance.localParticipant);
    expect(got).toEqual([
      ['state', FFCConnectionState.CONNECTED],
      ['disconnected', FFCDisconnectReason.DUPLICATE_IDENTITY],
      ['meta', 'old', room.localParticipant],
    ]);
  });
});

describe('memberInfo', () => {
  it('parses vroom metadata', () => {
    const meta = JSON.stringify({ memberId: 4, appUserId: 'bob', appUserName: 'Bob', appUserProfileImgUrl: null, videoRoomId: 7, channelMemberType: 'MEMBER', customData: { seat: '3' } });
    expect(parseMemberInfo(meta)).toEqual({ memberId: 4, appUserId: 'bob', appUserName: 'Bob', appUserProfileImgUrl: undefined, videoRoomId: 7, channelMemberType: 'MEMBER', customData: { seat: '3' } });
  });

  it('is null when unparsable or not the member JSON', () => {
    for (const m of [undefined, '', 'not json', '[]', 'null', '{"appUserName":"x"}', '42']) expect(parseMemberInfo(m)).toBeNull();
  });

  it('is on participants', () => {
    const room = new FFCRtcVideoRoom();
    expect(room.localParticipant.memberInfo).toBeNull();
  });
});

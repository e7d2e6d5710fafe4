// Response DTOs as the SDK hands them out (timestamps as Date, absent values undefined).
import type { FFCAccessLevel, FFCChannelMemberType, FFCCreatorType, FFCVideoRoomState, FFCVideoRoomType } from './enums';
import type { FFCCustomData } from './params';

/** One page of a list (Spring-Data shape). */
export interface FFCPagesDto<T> {
  content: T[];
  totalPages: number;
  totalElements: number;
  numberOfElements: number;
  /** 0-based index of this page. */
  number: number;
  size: number;
  first: boolean;
  last: boolean;
  empty: boolean;
}

export interface FFCTimestampDto {
  createdAt: Date;
  lastModifiedAt: Date;
}

export interface FFCNestedAppDto {
  id: number;
  name: string;
}

export interface FFCNestedMemberDto {
  id: number;
  appUserId: string;
  appUserName?: string;
  appUserProfileImgUrl?: string;
}

/** The logged-in member ({@link FlipFlopCloud.getMe}). */
export interface FFCMemberDto extends FFCNestedMemberDto, FFCTimestampDto {
  app: FFCNestedAppDto;
  email?: string;
  country?: string;
  lang?: string;
  /** vroom: `ACTIVE`. */
  state?: string;
  customType?: string;
  customData?: FFCCustomData;
}

/** A member's access and refresh token. */
export interface FFCMemberCredentialsDto {
  accessToken: string;
  refreshToken: string;
}

/** vroom: what `onTokensRefreshed` receives after a renewal. */
export interface FFCTokensRefreshedDto extends FFCMemberCredentialsDto {
  /** The member, when the server sends it along. */
  member?: FFCMemberDto;
}

export interface FFCVideoRoomPolicyDto {
  hasPassword: boolean;
  manuallyApproval: boolean;
  canAutoRoomCompositeRecording: boolean;
}

/** A video room. */
export interface FFCVideoRoomDto extends FFCTimestampDto {
  id: number;
  /** vroom: the room code used in URLs (also the media room's name). */
  uuid: string;
  /** vroom: the entity state, `ACTIVE`. */
  state?: string;
  videoRoomState: FFCVideoRoomState;
  type: FFCVideoRoomType;
  accessLevel: FFCAccessLevel;
  app: FFCNestedAppDto;
  /** The owner. */
  member: FFCNestedMemberDto;
  creatorType: FFCCreatorType;
  creatorId: number;
  title?: string;
  description?: string;
  customType?: string;
  customData?: FFCCustomData;
  policy: FFCVideoRoomPolicyDto;
  /** vroom */
  scheduledAt?: Date;
  /** vroom: when the current or last session began. */
  liveStartedAt?: Date;
  /** vroom: when the last session ended. */
  liveEndedAt?: Date;
  /** vroom: number of the latest session (0 before the first join). */
  lastSessionNo: number;
  /** vroom: the stored view options. */
  viewOptions?: Record<string, unknown>;
}

/** Media-server credentials for a room. */
export interface FFCRtcVideoRoomTokenDto {
  webRtcServerUrl: string;
  webRtcToken: string;
}

/** Same as {@link FFCRtcVideoRoomTokenDto}. */
export type FFCRtcVideoRoomTokensDto = FFCRtcVideoRoomTokenDto;

/** vroom: one session of a room, from the first join to the last leave. */
export interface FFCVideoRoomSessionDto {
  sessionNo: number;
  startedAt: Date;
  endedAt?: Date;
  endReason?: string;
  participantCount: number;
}

/** vroom: one stay of one participant in a session. */
export interface FFCVideoRoomSessionParticipantDto {
  participantSid: string;
  sessionNo: number;
  appUserId: string;
  memberId?: number;
  appUserName?: string;
  channelMemberType: FFCChannelMemberType | string;
  customData?: FFCCustomData;
  hidden: boolean;
  joinedAt: Date;
  leftAt?: Date;
  leaveReason?: string;
}

/** vroom: a participant in a room now, waiting ones included. */
export interface FFCVideoRoomParticipantDto {
  participantSid: string;
  appUserId: string;
  appUserName?: string;
  channelMemberType: FFCChannelMemberType | string;
  customData?: FFCCustomData;
  /** Not shown to others (observers, waiting participants). */
  hidden: boolean;
  /** Waits for the owner's approval. */
  waiting: boolean;
  canPublish: boolean;
  canSubscribe: boolean;
  joinedAt: Date;
}

// Request bodies of the member API.
import type { FFCAccessLevel, FFCVideoRoomType } from './enums';

/** Options of the SDK (the official SDK's type; kept for source compatibility). */
export interface FFCSdkOptions {
  debug: boolean;
}

/** Custom data of rooms and tokens: vroom wants string values (the iOS SDK decodes them so). */
export type FFCCustomData = Record<string, unknown>;

/** Body of {@link FlipFlopCloud.createVideoRoom}. */
export interface FFCCreateVideoRoomParams {
  type: FFCVideoRoomType;
  title?: string;
  description?: string;
  accessLevel?: FFCAccessLevel;
  /** Sent as an RFC 3339 UTC string. */
  scheduledAt?: Date;
  customType?: string;
  customData?: FFCCustomData;
  password?: string;
  manuallyApproval?: boolean;
  canAutoRoomCompositeRecording?: boolean;
  /** vroom: any JSON object, stored and returned as is. */
  viewOptions?: Record<string, unknown>;
}

/** Body of {@link FlipFlopCloud.updateVideoRoom}: absent fields are left unchanged. */
export interface FFCUpdateVideoRoomParams {
  title?: string;
  description?: string;
  accessLevel?: FFCAccessLevel;
  /** vroom: reschedules the room. */
  scheduledAt?: Date;
  customType?: string;
  customData?: FFCCustomData;
  /** An empty string removes the password. */
  password?: string;
  manuallyApproval?: boolean;
  canAutoRoomCompositeRecording?: boolean;
  /** vroom: any JSON object, stored and returned as is. */
  viewOptions?: Record<string, unknown>;
}

/** Body of {@link FlipFlopCloud.issueRtcVideoRoomToken} (every field optional on the wire). */
export interface FFCIssueRtcVideoRoomTokenParams {
  /** The room's password (the owner needs none). */
  password?: string;
  /** Put into the participant's metadata as `customData`. */
  customData?: FFCCustomData;
  /** vroom extension: the observer grant of an observer embed URL; joins hidden and subscribe-only. */
  observerGrant?: string;
}

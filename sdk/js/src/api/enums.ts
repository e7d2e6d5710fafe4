// Enumerations of the member API (the official SDK's names; string values as on the wire).

/** Who may see and join a video room. */
export enum FFCAccessLevel {
  /** Every member of the app. */
  PUBLIC = 'PUBLIC',
  /** vroom: every member of the app (like PUBLIC). */
  MEMBER = 'MEMBER',
  /** vroom: the owner only. */
  PRIVATE = 'PRIVATE',
}

/** The lifecycle state of a video room. */
export enum FFCVideoRoomState {
  SCHEDULED = 'SCHEDULED',
  CANCELLED = 'CANCELLED',
  LIVE = 'LIVE',
  LIVE_INACTIVE = 'LIVE_INACTIVE',
  ENDED = 'ENDED',
}

/** The kind of video room. */
export enum FFCVideoRoomType {
  BROADCAST_RTMP = 'BROADCAST_RTMP',
  VIDEO_CONFERENCE = 'VIDEO_CONFERENCE',
}

/** Who created a video room. */
export enum FFCCreatorType {
  USER = 'USER',
  APP = 'APP',
  MEMBER = 'MEMBER',
}

/** A participant's role in a room: the owner is the `OPERATOR`. */
export enum FFCChannelMemberType {
  OPERATOR = 'OPERATOR',
  MEMBER = 'MEMBER',
}

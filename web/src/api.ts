// The member API calls the page makes. Everything else in the page sees only this client and
// these types; `sdk.ts` is where they meet the vroom web SDK.

export interface Member {
  id: number;
  appUserId: string;
  appUserName: string | null;
}

export interface VideoRoom {
  id: number;
  uuid: string;
  title: string | null;
  videoRoomState: string;
  member: { id: number; appUserId: string; appUserName: string | null } | null;
  policy: { hasPassword: boolean; manuallyApproval: boolean } | null;
}

export interface LiveParticipant {
  participantSid: string;
  appUserId: string;
  appUserName: string | null;
  channelMemberType: string;
  hidden: boolean;
  waiting: boolean;
  canPublish: boolean;
  canSubscribe: boolean;
  joinedAt: string;
}

export interface RtcCredentials {
  webRtcServerUrl: string;
  webRtcToken: string;
}

/** An API failure: HTTP status (0 when the server was not reached) and vroom's errorCode. */
export class ApiFailure extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/** The member API for one member (its access token), on this page's own origin. */
export interface Client {
  getMe(): Promise<Member>;
  getVideoRoomByUuid(uuid: string): Promise<VideoRoom>;
  issueRtcVideoRoomToken(
    id: number,
    params: { password?: string; customData?: Record<string, string>; observerGrant?: string },
  ): Promise<RtcCredentials>;
  listVideoRoomParticipants(id: number): Promise<LiveParticipant[]>;
  approveVideoRoomParticipant(id: number, appUserId: string): Promise<void>;
  rejectVideoRoomParticipant(id: number, appUserId: string): Promise<void>;
  removeVideoRoomParticipant(id: number, appUserId: string): Promise<void>;
  endVideoRoom(id: number): Promise<void>;
}

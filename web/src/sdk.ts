// Where the page meets the vroom web SDK (sdk/js, package vroom-sdk): its member-API client
// (FlipFlopCloudClient) and its media room (FFCRtcVideoRoom). The rest of the page sees the
// `Client` of api.ts and the livekit-client Room the SDK's room wraps (`instance`): the page
// draws tracks, speakers and quality straight from livekit-client objects.

import type { Room, RoomOptions } from 'livekit-client';
import { FFCApiError, FFCRtcVideoRoom, FlipFlopCloudClient, parseMemberInfo, type FFCMemberInfo } from 'vroom-sdk';
import { ApiFailure, type Client, type LiveParticipant, type Member, type RtcCredentials, type VideoRoom } from './api';

/** Rejections of the SDK as the page's ApiFailure (status 0: the server was not reached). */
async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof FFCApiError) throw new ApiFailure(e.status, e.errorCode, e.errorMessage);
    throw new ApiFailure(0, 'NETWORK_ERROR', e instanceof Error ? e.message : String(e));
  }
}

class SdkClient implements Client {
  private readonly api: FlipFlopCloudClient;

  constructor(baseUrl: string, accessToken: string, refreshToken?: string) {
    // The key's refresh token renews an access token that expires during a long meeting.
    this.api = new FlipFlopCloudClient({ baseUrl, accessToken, refreshToken });
  }

  async getMe(): Promise<Member> {
    const m = await call(this.api.getMe());
    return { id: m.id, appUserId: m.appUserId, appUserName: m.appUserName ?? null };
  }

  async getVideoRoomByUuid(uuid: string): Promise<VideoRoom> {
    const r = await call(this.api.getVideoRoomByUuid(uuid));
    return {
      id: r.id,
      uuid: r.uuid,
      title: r.title ?? null,
      videoRoomState: r.videoRoomState,
      member: { id: r.member.id, appUserId: r.member.appUserId, appUserName: r.member.appUserName ?? null },
      policy: { hasPassword: r.policy.hasPassword, manuallyApproval: r.policy.manuallyApproval },
    };
  }

  async issueRtcVideoRoomToken(
    id: number,
    params: { password?: string; customData?: Record<string, string>; observerGrant?: string },
  ): Promise<RtcCredentials> {
    const t = await call(this.api.issueRtcVideoRoomToken(id, params));
    return { webRtcServerUrl: t.webRtcServerUrl, webRtcToken: t.webRtcToken };
  }

  async listVideoRoomParticipants(id: number): Promise<LiveParticipant[]> {
    const list = await call(this.api.listVideoRoomParticipants(id));
    return list.map((p) => ({
      participantSid: p.participantSid,
      appUserId: p.appUserId,
      appUserName: p.appUserName ?? null,
      channelMemberType: p.channelMemberType,
      hidden: p.hidden,
      waiting: p.waiting,
      canPublish: p.canPublish,
      canSubscribe: p.canSubscribe,
      joinedAt: p.joinedAt.toISOString(),
    }));
  }

  async approveVideoRoomParticipant(id: number, appUserId: string): Promise<void> {
    await call(this.api.approveVideoRoomParticipant(id, appUserId));
  }

  async rejectVideoRoomParticipant(id: number, appUserId: string): Promise<void> {
    await call(this.api.rejectVideoRoomParticipant(id, appUserId));
  }

  async removeVideoRoomParticipant(id: number, appUserId: string): Promise<void> {
    await call(this.api.removeVideoRoomParticipant(id, appUserId));
  }

  async endVideoRoom(id: number): Promise<void> {
    await call(this.api.endVideoRoom(id));
  }
}

export function createClient(baseUrl: string, accessToken: string, refreshToken?: string): Client {
  return new SdkClient(baseUrl, accessToken, refreshToken);
}

/** The SDK's media room and the livekit-client Room inside it, which the page drives. */
export interface MediaRoom {
  room: Room;
  connect(url: string, token: string): Promise<void>;
}

export function createMediaRoom(options: RoomOptions): MediaRoom {
  const ffc = new FFCRtcVideoRoom(options);
  return {
    room: ffc.instance,
    connect: (url, token) => ffc.connect(url, token, { autoSubscribe: true }),
  };
}

/** A participant's member info (its metadata, parsed by the SDK). */
export function memberInfoOf(metadata: string | undefined): FFCMemberInfo | null {
  return parseMemberInfo(metadata);
}

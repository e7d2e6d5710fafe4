// The member API as an object: one per member session, as many per page as needed.
import type {
  FFCMemberDto,
  FFCPagesDto,
  FFCRtcVideoRoomTokenDto,
  FFCTokensRefreshedDto,
  FFCVideoRoomDto,
  FFCVideoRoomParticipantDto,
  FFCVideoRoomSessionDto,
  FFCVideoRoomSessionParticipantDto,
} from './data';
import { HttpTransport, type FlipFlopCloudClientOptions } from './http';
import {
  toList,
  toLiveParticipant,
  toMember,
  toPage,
  toRtcToken,
  toSession,
  toSessionParticipant,
  toVideoRoom,
} from './mapping';
import type { FFCCreateVideoRoomParams, FFCIssueRtcVideoRoomTokenParams, FFCUpdateVideoRoomParams } from './params';
import type { FFCListVideoRoomSessionsQuery, FFCListVideoRoomsQuery, FFCQuery } from './query';

const ROOMS = '/v2/members/me/video-rooms';

function seg(v: string | number): string {
  return encodeURIComponent(String(v));
}

/**
 * A client of the member API for one member. Every method rejects with an
 * {@link FFCApiError} when the call fails. With a `refreshToken`, an expired access token is
 * renewed once (shared by concurrent calls) and the call retried.
 *
 * ```ts
 * const api = new FlipFlopCloudClient({ baseUrl, accessToken, refreshToken, onTokensRefreshed: save });
 * const room = await api.createVideoRoom({ type: FFCVideoRoomType.VIDEO_CONFERENCE, title: 'Standup' });
 * ```
 */
export class FlipFlopCloudClient {
  private readonly http: HttpTransport;

  constructor(options: FlipFlopCloudClientOptions) {
    this.http = new HttpTransport(options);
  }

  /** The access token in use (the renewed one after a refresh). */
  getAccessToken(): string {
    return this.http.getAccessToken();
  }

  /** The refresh token in use, if any. */
  getRefreshToken(): string | undefined {
    return this.http.getRefreshToken();
  }

  /** Replaces the tokens (e.g. after your backend renewed them). */
  setTokens(accessToken: string, refreshToken?: string): void {
    this.http.setTokens(accessToken, refreshToken);
  }

  /** vroom: exchanges the refresh token for a new pair now (`POST /v2/members/refresh-token`). */
  refreshTokens(): Promise<FFCTokensRefreshedDto> {
    return this.http.refreshTokens();
  }

  /** The logged-in member (`GET /v2/members/me`, 200). */
  async getMe(): Promise<FFCMemberDto> {
    return toMember(await this.http.request({ method: 'GET', path: '/v2/members/me', expect: 200 }));
  }

  /** Creates a room owned by the member (`POST /v2/members/me/video-rooms`, 201). */
  async createVideoRoom(params: FFCCreateVideoRoomParams): Promise<FFCVideoRoomDto> {
    return toVideoRoom(await this.http.request({ method: 'POST', path: ROOMS, body: params, expect: 201 }));
  }

  /** Rooms the member may see (`GET /v2/members/me/video-rooms`, 200). */
  async listVideoRooms(query?: FFCListVideoRoomsQuery): Promise<FFCPagesDto<FFCVideoRoomDto>> {
    return toPage(await this.http.request({ method: 'GET', path: ROOMS, query, expect: 200 }), toVideoRoom);
  }

  /** One room (`GET /v2/members/me/video-rooms/{id}`, 200). */
  async getVideoRoom(videoRoomId: number): Promise<FFCVideoRoomDto> {
    return toVideoRoom(await this.http.request({ method: 'GET', path: `${ROOMS}/${seg(videoRoomId)}`, expect: 200 }));
  }

  /** vroom: one room by its uuid (`GET /v2/members/me/video-rooms/uuid/{uuid}`, 200). */
  async getVideoRoomByUuid(uuid: string): Promise<FFCVideoRoomDto> {
    return toVideoRoom(await this.http.request({ method: 'GET', path: `${ROOMS}/uuid/${seg(uuid)}`, expect: 200 }));
  }

  /** Changes a room the member owns (`PATCH /v2/members/me/video-rooms/{id}`, 200). */
  async updateVideoRoom(videoRoomId: number, params: FFCUpdateVideoRoomParams): Promise<FFCVideoRoomDto> {
    return toVideoRoom(await this.http.request({ method: 'PATCH', path: `${ROOMS}/${seg(videoRoomId)}`, body: params, expect: 200 }));
  }

  /** Deletes a room the member owns (`DELETE /v2/members/me/video-rooms/{id}`, 200). */
  async deleteVideoRoom(videoRoomId: number): Promise<void> {
    await this.http.request({ method: 'DELETE', path: `${ROOMS}/${seg(videoRoomId)}`, expect: 200 });
  }

  /** Media-server credentials (`POST /v2/members/me/video-rooms/{id}/web-rtc-tokens`, 201). */
  async issueRtcVideoRoomToken(videoRoomId: number, params?: FFCIssueRtcVideoRoomTokenParams): Promise<FFCRtcVideoRoomTokenDto> {
    return toRtcToken(
      await this.http.request({ method: 'POST', path: `${ROOMS}/${seg(videoRoomId)}/web-rtc-tokens`, body: params ?? {}, expect: 201 }),
    );
  }

  /** vroom, owner: ends the room for everyone (`POST …/{id}/end`, 200). */
  async endVideoRoom(videoRoomId: number): Promise<FFCVideoRoomDto> {
    return toVideoRoom(await this.http.request({ method: 'POST', path: `${ROOMS}/${seg(videoRoomId)}/end`, expect: 200 }));
  }

  /** vroom, owner: the room's sessions (`GET …/{id}/sessions`, 200). */
  async listVideoRoomSessions(videoRoomId: number, query?: FFCListVideoRoomSessionsQuery): Promise<FFCPagesDto<FFCVideoRoomSessionDto>> {
    return toPage(await this.http.request({ method: 'GET', path: `${ROOMS}/${seg(videoRoomId)}/sessions`, query, expect: 200 }), toSession);
  }

  /** vroom, owner: attendance of one session (`GET …/{id}/sessions/{sessionNo}/participants`, 200). */
  async listVideoRoomSessionParticipants(videoRoomId: number, sessionNo: number, query?: FFCQuery): Promise<FFCVideoRoomSessionParticipantDto[]> {
    const raw = await this.http.request({
      method: 'GET',
      path: `${ROOMS}/${seg(videoRoomId)}/sessions/${seg(sessionNo)}/participants`,
      query,
      expect: 200,
    });
    return toList(raw, toSessionParticipant);
  }

  /** vroom, owner: who is in the room now, waiting participants included (`GET …/{id}/participants`, 200). */
  async listVideoRoomParticipants(videoRoomId: number): Promise<FFCVideoRoomParticipantDto[]> {
    return toList(await this.http.request({ method: 'GET', path: `${ROOMS}/${seg(videoRoomId)}/participants`, expect: 200 }), toLiveParticipant);
  }

  /** vroom, owner: admits a waiting participant (`POST …/participants/{appUserId}/approve`, 200). */
  approveVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return this.participantAction(videoRoomId, appUserId, 'approve');
  }

  /** vroom, owner: turns a waiting participant away (`POST …/participants/{appUserId}/reject`, 200). */
  rejectVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return this.participantAction(videoRoomId, appUserId, 'reject');
  }

  /** vroom, owner: removes a participant from the room (`POST …/participants/{appUserId}/remove`, 200). */
  removeVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return this.participantAction(videoRoomId, appUserId, 'remove');
  }

  private async participantAction(videoRoomId: number, appUserId: string, action: 'approve' | 'reject' | 'remove'): Promise<FFCVideoRoomParticipantDto> {
    const raw = await this.http.request({
      method: 'POST',
      path: `${ROOMS}/${seg(videoRoomId)}/participants/${seg(appUserId)}/${action}`,
      expect: 200,
    });
    return toLiveParticipant(raw);
  }
}

// The official SDK's static entry point, delegating to one default FlipFlopCloudClient.
import { SdkNotInitializedError } from '../errors';
import { FFCLoggerNames, getLogger } from '../logger';
import { FlipFlopCloudClient } from './client';
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
import type { FlipFlopCloudClientOptions } from './http';
import type { FFCCreateVideoRoomParams, FFCIssueRtcVideoRoomTokenParams, FFCUpdateVideoRoomParams } from './params';
import type { FFCListVideoRoomSessionsQuery, FFCListVideoRoomsQuery, FFCQuery } from './query';

const log = getLogger(FFCLoggerNames.Api);

/**
 * Static access to the member API, as in the official SDK: call {@link FlipFlopCloud.init}
 * once, then the methods. Each method throws {@link SdkNotInitializedError} before `init`
 * and rejects with an {@link FFCApiError} when the call fails. For several members in one
 * page, use {@link FlipFlopCloudClient} instances instead.
 */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- the official SDK's API is a static class
export class FlipFlopCloud {
  private static instance: FlipFlopCloudClient | undefined;

  private constructor() {
    // static only
  }

  /**
   * Initialises (or re-initialises) the default client.
   *
   * @param baseUrl - the API's base URL
   * @param accessToken - the member's access token
   * @param refreshToken - the member's refresh token: with it an expired access token is renewed automatically (vroom)
   * @param options - vroom: more client options, e.g. `onTokensRefreshed`
   */
  static init(
    baseUrl: string,
    accessToken: string,
    refreshToken?: string,
    options?: Omit<FlipFlopCloudClientOptions, 'baseUrl' | 'accessToken' | 'refreshToken'>,
  ): void {
    if (FlipFlopCloud.instance) log.debug('FlipFlopCloud initialised again');
    FlipFlopCloud.instance = new FlipFlopCloudClient({ ...options, baseUrl, accessToken, refreshToken });
  }

  /** vroom: the default client (throws before `init`). */
  static getClient(): FlipFlopCloudClient {
    if (!FlipFlopCloud.instance) throw new SdkNotInitializedError();
    return FlipFlopCloud.instance;
  }

  /** vroom: makes `client` the default one (or forgets it with undefined). */
  static setClient(client: FlipFlopCloudClient | undefined): void {
    FlipFlopCloud.instance = client;
  }

  static getAccessToken(): string {
    return FlipFlopCloud.getClient().getAccessToken();
  }

  static getRefreshToken(): string | undefined {
    return FlipFlopCloud.getClient().getRefreshToken();
  }

  static refreshTokens(): Promise<FFCTokensRefreshedDto> {
    return FlipFlopCloud.getClient().refreshTokens();
  }

  static getMe(): Promise<FFCMemberDto> {
    return FlipFlopCloud.getClient().getMe();
  }

  static createVideoRoom(params: FFCCreateVideoRoomParams): Promise<FFCVideoRoomDto> {
    return FlipFlopCloud.getClient().createVideoRoom(params);
  }

  static listVideoRooms(query?: FFCListVideoRoomsQuery): Promise<FFCPagesDto<FFCVideoRoomDto>> {
    return FlipFlopCloud.getClient().listVideoRooms(query);
  }

  static getVideoRoom(videoRoomId: number): Promise<FFCVideoRoomDto> {
    return FlipFlopCloud.getClient().getVideoRoom(videoRoomId);
  }

  static getVideoRoomByUuid(uuid: string): Promise<FFCVideoRoomDto> {
    return FlipFlopCloud.getClient().getVideoRoomByUuid(uuid);
  }

  static updateVideoRoom(videoRoomId: number, params: FFCUpdateVideoRoomParams): Promise<FFCVideoRoomDto> {
    return FlipFlopCloud.getClient().updateVideoRoom(videoRoomId, params);
  }

  static deleteVideoRoom(videoRoomId: number): Promise<void> {
    return FlipFlopCloud.getClient().deleteVideoRoom(videoRoomId);
  }

  static issueRtcVideoRoomToken(videoRoomId: number, params?: FFCIssueRtcVideoRoomTokenParams): Promise<FFCRtcVideoRoomTokenDto> {
    return FlipFlopCloud.getClient().issueRtcVideoRoomToken(videoRoomId, params);
  }

  static endVideoRoom(videoRoomId: number): Promise<FFCVideoRoomDto> {
    return FlipFlopCloud.getClient().endVideoRoom(videoRoomId);
  }

  static listVideoRoomSessions(videoRoomId: number, query?: FFCListVideoRoomSessionsQuery): Promise<FFCPagesDto<FFCVideoRoomSessionDto>> {
    return FlipFlopCloud.getClient().listVideoRoomSessions(videoRoomId, query);
  }

  static listVideoRoomSessionParticipants(videoRoomId: number, sessionNo: number, query?: FFCQuery): Promise<FFCVideoRoomSessionParticipantDto[]> {
    return FlipFlopCloud.getClient().listVideoRoomSessionParticipants(videoRoomId, sessionNo, query);
  }

  static listVideoRoomParticipants(videoRoomId: number): Promise<FFCVideoRoomParticipantDto[]> {
    return FlipFlopCloud.getClient().listVideoRoomParticipants(videoRoomId);
  }

  static approveVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return FlipFlopCloud.getClient().approveVideoRoomParticipant(videoRoomId, appUserId);
  }

  static rejectVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return FlipFlopCloud.getClient().rejectVideoRoomParticipant(videoRoomId, appUserId);
  }

  static removeVideoRoomParticipant(videoRoomId: number, appUserId: string): Promise<FFCVideoRoomParticipantDto> {
    return FlipFlopCloud.getClient().removeVideoRoomParticipant(videoRoomId, appUserId);
  }
}

export default FlipFlopCloud;

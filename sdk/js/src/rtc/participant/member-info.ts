// vroom's participant metadata: the member JSON the server puts in every media token.
import type { FFCChannelMemberType } from '../../api/enums';

/** What vroom tells about a participant (its metadata, parsed). */
export interface FFCMemberInfo {
  memberId?: number;
  appUserId: string;
  appUserName?: string;
  appUserProfileImgUrl?: string;
  videoRoomId?: number;
  /** `OPERATOR` for the room's owner, else `MEMBER`. */
  channelMemberType?: FFCChannelMemberType | string;
  /** The customData of the token request. */
  customData?: Record<string, unknown>;
}

/** Parses a participant's metadata as vroom's member JSON; null if it is not one. */
export function parseMemberInfo(metadata: string | undefined | null): FFCMemberInfo | null {
  if (!metadata) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(metadata);
  } catch {
    return null;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.appUserId !== 'string') return null;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const int = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  return {
    memberId: int(r.memberId),
    appUserId: r.appUserId,
    appUserName: text(r.appUserName),
    appUserProfileImgUrl: text(r.appUserProfileImgUrl),
    videoRoomId: int(r.videoRoomId),
    channelMemberType: text(r.channelMemberType),
    customData: r.customData !== null && typeof r.customData === 'object' && !Array.isArray(r.customData) ? (r.customData as Record<string, unknown>) : undefined,
  };
}

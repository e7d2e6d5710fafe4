// Wire JSON → the SDK's DTOs: known fields only, RFC 3339 strings → Date, null → undefined.
import type {
  FFCMemberDto,
  FFCNestedAppDto,
  FFCNestedMemberDto,
  FFCPagesDto,
  FFCRtcVideoRoomTokenDto,
  FFCTokensRefreshedDto,
  FFCVideoRoomDto,
  FFCVideoRoomParticipantDto,
  FFCVideoRoomPolicyDto,
  FFCVideoRoomSessionDto,
  FFCVideoRoomSessionParticipantDto,
} from './data';
import type { FFCAccessLevel, FFCCreatorType, FFCVideoRoomState, FFCVideoRoomType } from './enums';

/** A JSON object as received. */
export type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}
function optStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}
function optNum(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
function bool(v: unknown): boolean {
  return v === true;
}
function optObj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
/** An RFC 3339 string as a Date (undefined when absent or unparsable). */
export function optDate(v: unknown): Date | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
function date(v: unknown): Date {
  return optDate(v) ?? new Date(NaN);
}

export function toNestedApp(raw: unknown): FFCNestedAppDto {
  const r = obj(raw);
  return { id: num(r.id), name: str(r.name) };
}

export function toNestedMember(raw: unknown): FFCNestedMemberDto {
  const r = obj(raw);
  return {
    id: num(r.id),
    appUserId: str(r.appUserId),
    appUserName: optStr(r.appUserName),
    appUserProfileImgUrl: optStr(r.appUserProfileImgUrl),
  };
}

export function toMember(raw: unknown): FFCMemberDto {
  const r = obj(raw);
  return {
    ...toNestedMember(r),
    app: toNestedApp(r.app),
    email: optStr(r.email),
    country: optStr(r.country),
    lang: optStr(r.lang),
    state: optStr(r.state),
    customType: optStr(r.customType),
    customData: optObj(r.customData),
    createdAt: date(r.createdAt),
    lastModifiedAt: date(r.lastModifiedAt),
  };
}

export function toPolicy(raw: unknown): FFCVideoRoomPolicyDto {
  const r = obj(raw);
  return {
    hasPassword: bool(r.hasPassword),
    manuallyApproval: bool(r.manuallyApproval),
    canAutoRoomCompositeRecording: bool(r.canAutoRoomCompositeRecording),
  };
}

export function toVideoRoom(raw: unknown): FFCVideoRoomDto {
  const r = obj(raw);
  return {
    id: num(r.id),
    uuid: str(r.uuid),
    state: optStr(r.state),
    videoRoomState: str(r.videoRoomState) as FFCVideoRoomState,
    type: str(r.type) as FFCVideoRoomType,
    accessLevel: str(r.accessLevel) as FFCAccessLevel,
    app: toNestedApp(r.app),
    member: toNestedMember(r.member),
    creatorType: str(r.creatorType) as FFCCreatorType,
    creatorId: num(r.creatorId),
    title: optStr(r.title),
    description: optStr(r.description),
    customType: optStr(r.customType),
    customData: optObj(r.customData),
    policy: toPolicy(r.policy),
    scheduledAt: optDate(r.scheduledAt),
    liveStartedAt: optDate(r.liveStartedAt),
    liveEndedAt: optDate(r.liveEndedAt),
    lastSessionNo: num(r.lastSessionNo),
    viewOptions: optObj(r.viewOptions),
    createdAt: date(r.createdAt),
    lastModifiedAt: date(r.lastModifiedAt),
  };
}

export function toPage<T>(raw: unknown, item: (v: unknown) => T): FFCPagesDto<T> {
  const r = obj(raw);
  const content = Array.isArray(r.content) ? (r.content as unknown[]).map(item) : [];
  return {
    content,
    totalPages: num(r.totalPages),
    totalElements: num(r.totalElements),
    numberOfElements: num(r.numberOfElements ?? content.length),
    number: num(r.number),
    size: num(r.size),
    first: bool(r.first),
    last: bool(r.last),
    empty: r.empty === undefined ? content.length === 0 : bool(r.empty),
  };
}

export function toRtcToken(raw: unknown): FFCRtcVideoRoomTokenDto {
  const r = obj(raw);
  return { webRtcServerUrl: str(r.webRtcServerUrl), webRtcToken: str(r.webRtcToken) };
}

export function toTokens(raw: unknown): FFCTokensRefreshedDto {
  const r = obj(raw);
  const out: FFCTokensRefreshedDto = { accessToken: str(r.accessToken), refreshToken: str(r.refreshToken) };
  if (optObj(r.member)) out.member = toMember(r.member);
  return out;
}

export function toSession(raw: unknown): FFCVideoRoomSessionDto {
  const r = obj(raw);
  return {
    sessionNo: num(r.sessionNo),
    startedAt: date(r.startedAt),
    endedAt: optDate(r.endedAt),
    endReason: optStr(r.endReason),
    participantCount: num(r.participantCount),
  };
}

export function toSessionParticipant(raw: unknown): FFCVideoRoomSessionParticipantDto {
  const r = obj(raw);
  return {
    participantSid: str(r.participantSid),
    sessionNo: num(r.sessionNo),
    appUserId: str(r.appUserId),
    memberId: optNum(r.memberId),
    appUserName: optStr(r.appUserName),
    channelMemberType: str(r.channelMemberType),
    customData: optObj(r.customData),
    hidden: bool(r.hidden),
    joinedAt: date(r.joinedAt),
    leftAt: optDate(r.leftAt),
    leaveReason: optStr(r.leaveReason),
  };
}

export function toLiveParticipant(raw: unknown): FFCVideoRoomParticipantDto {
  const r = obj(raw);
  return {
    participantSid: str(r.participantSid),
    appUserId: str(r.appUserId),
    appUserName: optStr(r.appUserName),
    channelMemberType: str(r.channelMemberType),
    customData: optObj(r.customData),
    hidden: bool(r.hidden),
    waiting: bool(r.waiting),
    canPublish: bool(r.canPublish),
    canSubscribe: bool(r.canSubscribe),
    joinedAt: date(r.joinedAt),
  };
}

/** A list answer: an array, or the content of a page. */
export function toList<T>(raw: unknown, item: (v: unknown) => T): T[] {
  if (Array.isArray(raw)) return (raw as unknown[]).map(item);
  return toPage(raw, item).content;
}

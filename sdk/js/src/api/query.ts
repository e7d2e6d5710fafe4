// Query types of the list calls, and their sort options (values, not only types).
import type { FFCAccessLevel, FFCVideoRoomState, FFCVideoRoomType } from './enums';

/** Paging of a list call. */
export interface FFCQuery {
  /** 1-based page number (default 1). The response's `number` is 0-based. */
  page?: number;
  /** Items per page (vroom: default 20, at most 100). */
  pageSize?: number;
}

/** Sort orders of member lists. */
export enum FFCMembersSortOption {
  CREATED_AT_ASC = 'CREATED_AT_ASC',
  CREATED_AT_DESC = 'CREATED_AT_DESC',
  LAST_MODIFIED_AT_ASC = 'LAST_MODIFIED_AT_ASC',
  LAST_MODIFIED_AT_DESC = 'LAST_MODIFIED_AT_DESC',
  APP_USER_ID_ASC = 'APP_USER_ID_ASC',
  APP_USER_ID_DESC = 'APP_USER_ID_DESC',
}

export interface FFCListMembersQuery extends FFCQuery {
  appUserId?: string;
  appUserName?: string;
  sortBy?: FFCMembersSortOption;
}

/** Sort orders of video room lists. */
export enum FFCVideoRoomsSortOption {
  CREATED_AT_ASC = 'CREATED_AT_ASC',
  CREATED_AT_DESC = 'CREATED_AT_DESC',
  LAST_MODIFIED_AT_ASC = 'LAST_MODIFIED_AT_ASC',
  LAST_MODIFIED_AT_DESC = 'LAST_MODIFIED_AT_DESC',
}

/** Filters of {@link FlipFlopCloud.listVideoRooms}. */
export interface FFCListVideoRoomsQuery extends FFCQuery {
  /** Rooms owned by this app user. */
  appUserId?: string;
  /** Title contains (case-insensitive). */
  keyword?: string;
  videoRoomState?: FFCVideoRoomState;
  type?: FFCVideoRoomType;
  accessLevel?: FFCAccessLevel;
  sortBy?: FFCVideoRoomsSortOption;
}

/** vroom: paging of {@link FlipFlopCloud.listVideoRoomSessions}. */
export type FFCListVideoRoomSessionsQuery = FFCQuery;

// Room and connect options (livekit-client's shapes; see defaults.ts for what is assumed).
import type { InternalRoomOptions, RoomConnectOptions, RoomOptions } from 'livekit-client';

/** Options of `new FFCRtcVideoRoom(options)`. */
export type FFCRtcVideoRoomOptions = RoomOptions;
/** @internal */
export type FFCInternalRtcVideoRoomOptions = InternalRoomOptions;
/** Options of `room.connect(url, token, options)`. */
export type FFCRtcVideoRoomConnectOptions = RoomConnectOptions;

// The RTC enumerations by the official SDK's names and values, and their livekit-client
// counterparts.
import {
  ConnectionQuality,
  ConnectionState,
  DisconnectReason,
  ParticipantKind,
  SubscriptionError,
  VideoQuality,
  type Participant,
} from 'livekit-client';
import type { FFCTrack } from './track/track';
import { fromTrackSource } from './track/kinds';

/** The room's connection state. */
export enum FFCConnectionState {
  DISCONNECTED = 'DISCONNECTED',
  CONNECTING = 'CONNECTING',
  CONNECTED = 'CONNECTED',
  RECONNECTING = 'RECONNECTING',
  SIGNAL_RECONNECTING = 'SIGNAL_RECONNECTING',
}

export namespace FFCConnectionState {
  /** @internal */
  export function fromConnectionState(state: ConnectionState): FFCConnectionState {
    switch (state) {
      case ConnectionState.Disconnected:
        return FFCConnectionState.DISCONNECTED;
      case ConnectionState.Connecting:
        return FFCConnectionState.CONNECTING;
      case ConnectionState.Connected:
        return FFCConnectionState.CONNECTED;
      case ConnectionState.Reconnecting:
        return FFCConnectionState.RECONNECTING;
      case ConnectionState.SignalReconnecting:
        return FFCConnectionState.SIGNAL_RECONNECTING;
    }
  }
}

/** A participant's connection quality. */
export enum FFCConnectionQuality {
  EXCELLENT = 'EXCELLENT',
  GOOD = 'GOOD',
  POOR = 'POOR',
  LOST = 'LOST',
  UNKNOWN = 'UNKNOWN',
}

export namespace FFCConnectionQuality {
  /** @internal */
  export function fromConnectionQuality(quality: ConnectionQuality): FFCConnectionQuality {
    switch (quality) {
      case ConnectionQuality.Excellent:
        return FFCConnectionQuality.EXCELLENT;
      case ConnectionQuality.Good:
        return FFCConnectionQuality.GOOD;
      case ConnectionQuality.Poor:
        return FFCConnectionQuality.POOR;
      case ConnectionQuality.Lost:
        return FFCConnectionQuality.LOST;
      default:
        return FFCConnectionQuality.UNKNOWN;
    }
  }
}

/** Why the room was disconnected (livekit's reasons by name). */
export enum FFCDisconnectReason {
  UNKNOWN_REASON = 'UNKNOWN_REASON',
  CLIENT_INITIATED = 'CLIENT_INITIATED',
  DUPLICATE_IDENTITY = 'DUPLICATE_IDENTITY',
  SERVER_SHUTDOWN = 'SERVER_SHUTDOWN',
  PARTICIPANT_REMOVED = 'PARTICIPANT_REMOVED',
  ROOM_DELETED = 'ROOM_DELETED',
  STATE_MISMATCH = 'STATE_MISMATCH',
  JOIN_FAILURE = 'JOIN_FAILURE',
  MIGRATION = 'MIGRATION',
  SIGNAL_CLOSE = 'SIGNAL_CLOSE',
  ROOM_CLOSED = 'ROOM_CLOSED',
  USER_UNAVAILABLE = 'USER_UNAVAILABLE',
  USER_REJECTED = 'USER_REJECTED',
  SIP_TRUNK_FAILURE = 'SIP_TRUNK_FAILURE',
}

/** The name of a numeric protobuf enum value, if `values` has it. */
function nameIn(values: Record<string, string>, name: string | undefined): string | undefined {
  return name !== undefined && Object.values(values).includes(name) ? name : undefined;
}

export namespace FFCDisconnectReason {
  /** @internal */
  export function fromDisconnectReason(reason: DisconnectReason | undefined): FFCDisconnectReason | undefined {
    if (reason === undefined) return undefined;
    const name = (DisconnectReason as unknown as Record<number, string | undefined>)[reason];
    return (nameIn(FFCDisconnectReason as unknown as Record<string, string>, name) as FFCDisconnectReason | undefined) ?? FFCDisconnectReason.UNKNOWN_REASON;
  }
}

/** The kind of participant. */
export enum FFCParticipantKind {
  STANDARD = 'STANDARD',
  INGRESS = 'INGRESS',
  EGRESS = 'EGRESS',
  SIP = 'SIP',
  AGENT = 'AGENT',
}

export namespace FFCParticipantKind {
  /** @internal */
  export function fromParticipantKind(kind: ParticipantKind): FFCParticipantKind {
    const name = (ParticipantKind as unknown as Record<number, string | undefined>)[kind];
    return (nameIn(FFCParticipantKind as unknown as Record<string, string>, name) as FFCParticipantKind | undefined) ?? FFCParticipantKind.STANDARD;
  }
}

/** Why a subscription failed. */
export enum FFCSubscriptionError {
  UNKNOWN = 'UNKNOWN',
  CODEC_UNSUPPORTED = 'CODEC_UNSUPPORTED',
  TRACK_NOTFOUND = 'TRACK_NOTFOUND',
}

export namespace FFCSubscriptionError {
  /** @internal */
  export function fromSubscriptionError(error: SubscriptionError): FFCSubscriptionError {
    switch (error) {
      case SubscriptionError.SE_CODEC_UNSUPPORTED:
        return FFCSubscriptionError.CODEC_UNSUPPORTED;
      case SubscriptionError.SE_TRACK_NOTFOUND:
        return FFCSubscriptionError.TRACK_NOTFOUND;
      default:
        return FFCSubscriptionError.UNKNOWN;
    }
  }
}

/** Simulcast layer of a subscribed video track. */
export enum FFCVideoQuality {
  LOW = 'LOW',
  MEDIUM = 'MEDIUM',
  HIGH = 'HIGH',
}

export namespace FFCVideoQuality {
  /** @internal */
  export function fromVideoQuality(quality: VideoQuality): FFCVideoQuality {
    switch (quality) {
      case VideoQuality.HIGH:
        return FFCVideoQuality.HIGH;
      case VideoQuality.MEDIUM:
        return FFCVideoQuality.MEDIUM;
      default:
        return FFCVideoQuality.LOW;
    }
  }
  /** @internal */
  export function toVideoQuality(quality: FFCVideoQuality): VideoQuality {
    switch (quality) {
      case FFCVideoQuality.HIGH:
        return VideoQuality.HIGH;
      case FFCVideoQuality.MEDIUM:
        return VideoQuality.MEDIUM;
      case FFCVideoQuality.LOW:
        return VideoQuality.LOW;
    }
  }
}

/** What a participant may do. */
export interface FFCParticipantPermission {
  canSubscribe: boolean;
  canPublish: boolean;
  canPublishSources: FFCTrack.Source[];
  hidden: boolean;
  canUpdateMetadata: boolean;
  canSubscribeMetrics: boolean;
  canPublishData?: boolean;
}

type LkPermission = NonNullable<Participant['permissions']>;

export namespace FFCParticipantPermission {
  /** @internal */
  export function fromParticipantPermission(p: LkPermission): FFCParticipantPermission {
    return {
      canSubscribe: p.canSubscribe,
      canPublish: p.canPublish,
      canPublishSources: p.canPublishSources.map((s) => fromTrackSource(s)),
      hidden: p.hidden,
      canUpdateMetadata: p.canUpdateMetadata,
      canSubscribeMetrics: p.canSubscribeMetrics,
      canPublishData: p.canPublishData,
    };
  }
}

/** Per-participant track permission (see `setTrackSubscriptionPermissions`). */
export interface FFCParticipantTrackPermission {
  participantIdentity?: string;
  participantSid?: string;
  allowAll?: boolean;
  allowedTrackSids?: string[];
}

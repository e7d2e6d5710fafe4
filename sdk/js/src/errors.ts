// The SDK's error classes. Every failed HTTP call rejects with an FFCApiError (network
// failures and timeouts with its subclass FFCNetworkError).
import { MediaDeviceFailure } from 'livekit-client';

/** Base class of the SDK's errors; `name` is a code such as `SDK_NOT_INITIALIZED`. */
export class FFCError extends Error {
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** A call to the FlipFlop Cloud / vroom API failed: an HTTP status other than the expected one. */
export class FFCApiError extends FFCError {
  /** The HTTP status (0 when no response arrived, see {@link FFCNetworkError}). */
  readonly status: number;
  /** The server's `errorCode` (e.g. `VIDEO_ROOM_NOT_FOUND`), or one the SDK made up: `HTTP_<status>`, `UNEXPECTED_STATUS`, `INVALID_RESPONSE_BODY`, `NETWORK_ERROR`, `TIMEOUT`. */
  readonly errorCode: string;
  /** The server's `errorMessage`, or what the SDK knows about the failure. */
  readonly errorMessage: string;
  /** `METHOD /path` of the failed call. */
  readonly request: string;

  constructor(status: number, errorCode: string, errorMessage: string, request: string, options?: { cause?: unknown }) {
    super('FFC_API_ERROR', `${request} → ${status} ${errorCode}: ${errorMessage}`, options);
    this.status = status;
    this.errorCode = errorCode;
    this.errorMessage = errorMessage;
    this.request = request;
  }
}

/** No HTTP response: the server could not be reached, the connection broke, or the call timed out. */
export class FFCNetworkError extends FFCApiError {
  constructor(errorCode: 'NETWORK_ERROR' | 'TIMEOUT', errorMessage: string, request: string, options?: { cause?: unknown }) {
    super(0, errorCode, errorMessage, request, options);
    this.name = 'FFC_NETWORK_ERROR';
  }
}

export class FFCCliCredentialsError extends FFCError {
  constructor(msg: string) {
    super('FFC_CLI_CREDENTIALS_ERROR', msg);
  }
}

/** A static {@link FlipFlopCloud} method was called before `FlipFlopCloud.init`. */
export class SdkNotInitializedError extends FFCError {
  constructor() {
    super('SDK_NOT_INITIALIZED', 'sdk not initialized');
  }
}

export class InvalidFFCEnumStringError extends FFCError {
  constructor(enumName: string, value: string) {
    super('INVALID_FFC_ENUM_STRING', `${enumName} does not enumerate value: ${value}`);
  }
}

export class FFCDeviceUnsupportedError extends FFCError {
  constructor(msg: string) {
    super('RTC_DEVICE_UNSUPPORTED', msg);
  }
}

export class FFCTrackInvalidError extends FFCError {
  constructor(msg: string) {
    super('RTC_TRACK_INVALID', msg);
  }
}

/** Why a media device could not be used. */
export enum FFCMediaDeviceFailure {
  PermissionDenied = 'PermissionDenied',
  NotFound = 'NotFound',
  DeviceInUse = 'DeviceInUse',
  Other = 'Other',
}

export namespace FFCMediaDeviceFailure {
  /** The failure a getUserMedia error stands for, or undefined if it is not such an error. */
  export function getFailure(error: unknown): FFCMediaDeviceFailure | undefined {
    const failure = MediaDeviceFailure.getFailure(error);
    return failure === undefined ? undefined : fromMediaDeviceFailure(failure);
  }

  /** @internal */
  export function fromMediaDeviceFailure(failure: MediaDeviceFailure): FFCMediaDeviceFailure {
    return failure as string as FFCMediaDeviceFailure;
  }

  /** @internal */
  export function toMediaDeviceFailure(failure: FFCMediaDeviceFailure): MediaDeviceFailure {
    return failure as string as MediaDeviceFailure;
  }
}

// The SDK's logging: silent unless the application asks for it (setLogLevel), and never
// given response bodies or tokens. The level also applies to livekit-client's loggers.
import { LogLevel as LkLogLevel, setLogLevel as lkSetLogLevel } from 'livekit-client';

/** Log levels, lowest first (the official SDK's names and values). */
export enum FFCLogLevel {
  trace = 0,
  debug = 1,
  info = 2,
  warn = 3,
  error = 4,
  silent = 5,
}

/** Names of the SDK's loggers (the official SDK's names and values). */
export enum FFCLoggerNames {
  Default = 'ffc-rtc',
  Room = 'ffc-rtc-room',
  Participant = 'ffc-rtc-participant',
  Track = 'ffc-rtc-track',
  Publication = 'ffc-rtc-track-publication',
  Engine = 'ffc-rtc-engine',
  Signal = 'ffc-rtc-signal',
  PCManager = 'ffc-rtc-pc-manager',
  PCTransport = 'ffc-rtc-pc-transport',
  E2EE = 'ffc-rtc-lk-e2ee',
  Api = 'ffc-api',
}

export type FFCLogLevelString = keyof typeof FFCLogLevel;

/** Receives every message at or above the logger's level (see {@link setLogExtension}). */
export type FFCLogExtension = (level: FFCLogLevel, msg: string, context?: object) => void;

/** A named logger. Messages below its level are dropped. */
export interface FFCStructuredLogger {
  readonly name: string;
  trace(msg: string, context?: object): void;
  debug(msg: string, context?: object): void;
  info(msg: string, context?: object): void;
  warn(msg: string, context?: object): void;
  error(msg: string, context?: object): void;
  setLevel(level: FFCLogLevel | FFCLogLevelString): void;
  getLevel(): FFCLogLevel;
}

const loggers = new Map<string, Logger>();
let defaultLevel = FFCLogLevel.silent;
let extension: FFCLogExtension | undefined;
let levelChosen = false;

function toLevel(level: FFCLogLevel | FFCLogLevelString): FFCLogLevel {
  return typeof level === 'string' ? FFCLogLevel[level] : level;
}

class Logger implements FFCStructuredLogger {
  level: FFCLogLevel | undefined;
  ownExtension: FFCLogExtension | undefined;
  constructor(readonly name: string) {}
  getLevel(): FFCLogLevel {
    return this.level ?? defaultLevel;
  }
  setLevel(level: FFCLogLevel | FFCLogLevelString): void {
    this.level = toLevel(level);
  }
  trace(msg: string, context?: object): void {
    this.write(FFCLogLevel.trace, msg, context);
  }
  debug(msg: string, context?: object): void {
    this.write(FFCLogLevel.debug, msg, context);
  }
  info(msg: string, context?: object): void {
    this.write(FFCLogLevel.info, msg, context);
  }
  warn(msg: string, context?: object): void {
    this.write(FFCLogLevel.warn, msg, context);
  }
  error(msg: string, context?: object): void {
    this.write(FFCLogLevel.error, msg, context);
  }
  private write(level: FFCLogLevel, msg: string, context?: object): void {
    if (level < this.getLevel() || level >= FFCLogLevel.silent) return;
    const text = `[${this.name}] ${msg}`;
    const sink = this.ownExtension ?? extension;
    if (sink) {
      sink(level, text, context);
      return;
    }
    /* eslint-disable no-console -- the one place the SDK writes to the console, only when asked to */
    const out = level >= FFCLogLevel.error ? console.error : level === FFCLogLevel.warn ? console.warn : level === FFCLogLevel.info ? console.info : console.debug;
    /* eslint-enable no-console */
    if (context) out(text, context);
    else out(text);
  }
}

/** The logger called `name` (created on first use). */
export function getLogger(name: string): FFCStructuredLogger {
  let logger = loggers.get(name);
  if (!logger) {
    logger = new Logger(name);
    loggers.set(name, logger);
  }
  return logger;
}

function lkLevel(level: FFCLogLevel): LkLogLevel {
  return level as number;
}

/**
 * Sets the level of one logger, or of all of them (and of livekit-client's) when no name is
 * given. The default is `silent`.
 */
export function setLogLevel(level: FFCLogLevel | FFCLogLevelString, loggerName?: FFCLoggerNames): void {
  const value = toLevel(level);
  if (loggerName) {
    getLogger(loggerName).setLevel(value);
    return;
  }
  levelChosen = true;
  defaultLevel = value;
  for (const logger of loggers.values()) logger.level = undefined;
  lkSetLogLevel(lkLevel(value));
}

/** Sends log messages to `ext` instead of the console (one logger, or all). */
export function setLogExtension(ext: FFCLogExtension, logger?: FFCStructuredLogger): void {
  if (logger instanceof Logger) logger.ownExtension = ext;
  else extension = ext;
}

/**
 * @internal Applies the SDK's default (silent) to livekit-client too, unless the application
 * chose a level already. Called when the first room is created.
 */
export function applyDefaultLivekitLevel(): void {
  if (!levelChosen) {
    levelChosen = true;
    lkSetLogLevel(lkLevel(defaultLevel));
  }
}

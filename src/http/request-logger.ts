import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * A request's logger, made only when the request logs something. pino's `child()` serializes and
 * redacts its bindings (the request id) the moment it is called, about 3% of a cached GET's CPU
 * profile, while at LOG_LEVEL=warn and above most requests log nothing. When Fastify's per-request
 * lines are on (info and below) every request logs, so the child is made at once.
 */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // Fastify's logger is pino's (app.ts hands it pino options).
  const parent = logger as unknown as Logger;
  if (parent.isLevelEnabled('info') || options.level !== undefined) return logger.child(bindings, options);
  return new DeferredLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}

class DeferredLogger {
  private made: Logger | null = null;
  readonly fatal: LogFn;
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  readonly trace: LogFn;

  constructor(
    private readonly parent: Logger,
    private readonly own: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {
    const method = (level: (typeof LEVELS)[number]): LogFn =>
      ((...args: Parameters<LogFn>) => {
        if (this.isLevelEnabled(level)) this.real[level](...args);
      }) as LogFn;
    [this.fatal, this.error, this.warn, this.info, this.debug, this.trace] = LEVELS.map(method) as [LogFn, LogFn, LogFn, LogFn, LogFn, LogFn];
  }

  private get real(): Logger {
    return (this.made ??= this.parent.child(this.own, this.options));
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real.child(bindings, options);
  }

  bindings(): Bindings {
    return { ...this.parent.bindings(), ...this.own };
  }
}

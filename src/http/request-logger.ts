import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

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

/**
 * A logger that becomes pino's child on its first line. Its methods live on the prototype: Fastify
 * makes one per request, so one object and nothing else is allocated for a request that logs nothing.
 */
class DeferredLogger {
  private made: Logger | null = null;

  constructor(
    private readonly parent: Logger,
    private readonly own: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): Logger {
    return (this.made ??= this.parent.child(this.own, this.options));
  }

  private write(level: Level, args: Parameters<LogFn>): void {
    if (this.isLevelEnabled(level)) (this.real[level] as (...a: Parameters<LogFn>) => void)(...args);
  }

  fatal(...args: Parameters<LogFn>): void {
    this.write('fatal', args);
  }

  error(...args: Parameters<LogFn>): void {
    this.write('error', args);
  }

  warn(...args: Parameters<LogFn>): void {
    this.write('warn', args);
  }

  info(...args: Parameters<LogFn>): void {
    this.write('info', args);
  }

  debug(...args: Parameters<LogFn>): void {
    this.write('debug', args);
  }

  trace(...args: Parameters<LogFn>): void {
    this.write('trace', args);
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

import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { requestLogger } from '../../src/http/request-logger.js';

function realPino(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level }, stream);
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof logger.child;
  return { lines, logger: logger as unknown as FastifyBaseLogger, children: () => children };
}

describe('request loggers are made only when a request logs', () => {
  it('at warn, a request that logs nothing makes no child; one that warns gets the request id on its line', () => {
    const log = realPino('warn');
    const quiet = requestLogger(log.logger, { reqId: 'quiet-1' }, {});
    quiet.info('not written');
    quiet.debug('not written');
    expect(log.children()).toBe(0);
    expect(log.lines).toEqual([]);

    const loud = requestLogger(log.logger, { reqId: 'loud-1' }, {});
    loud.warn({ reason: 'x' }, 'first');
    loud.error('second');
    expect(log.children()).toBe(1);
    expect(log.lines.map((l) => [l.reqId, l.msg, l.level])).toEqual([
      ['loud-1', 'first', 40],
      ['loud-1', 'second', 50],
    ]);
    expect(log.lines[0]!.reason).toBe('x');
  });

  it("a request's own level (set later) is honoured", () => {
    const log = realPino('warn');
    const request = requestLogger(log.logger, { reqId: 'r-2' }, {});
    request.level = 'debug';
    request.debug('now written');
    expect(log.lines.map((l) => [l.reqId, l.msg])).toEqual([['r-2', 'now written']]);
  });

  it('at info, where Fastify logs every request anyway, the child is made at once', () => {
    const log = realPino('info');
    const request = requestLogger(log.logger, { reqId: 'r-3' }, {});
    expect(log.children()).toBe(1);
    request.info('written');
    expect(log.lines.map((l) => l.reqId)).toEqual(['r-3']);
  });
});

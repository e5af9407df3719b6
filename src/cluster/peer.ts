import { REQUEST_TIMEOUT_MS, parseMessage, type Call, type CallTag, type Message, type Notice, type Result } from './protocol.js';

/** How one side answers the other's requests: a handler per request it serves. */
export type Answers = { readonly [K in CallTag]?: (call: Call<K>) => Result<K> | Promise<Result<K>> };

export interface PeerOptions {
  /** Puts one message on the channel; false when the other side is gone (nothing was sent). */
  readonly send: (message: Message) => boolean;
  /** The requests this side serves; any other is answered with a failure. */
  readonly answers?: Answers;
  /** Shorter deadlines for tests; REQUEST_TIMEOUT_MS otherwise. */
  readonly timeouts?: Partial<Record<CallTag, number>>;
}

/** The other side did not answer in time, was gone, or answered with a failure. */
export class IpcRequestError extends Error {
  constructor(
    readonly tag: CallTag,
    readonly reason: 'timeout' | 'gone' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'IpcRequestError';
  }
}

interface Pending {
  readonly tag: CallTag;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One end of the primary↔worker channel: sends requests and waits for their replies (never longer
 * than the request's deadline), answers the other side's requests, and hands on its notices. The
 * worker has one, talking to the primary; the primary one per worker.
 */
export class Peer {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: ((notice: Notice) => void)[] = [];
  private closed: string | null = null;

  constructor(private readonly options: PeerOptions) {}

  /**
   * Asks the other side, and settles within the request's deadline: with the result, or with an
   * IpcRequestError saying it timed out, the other side was gone, or its handler failed.
   */
  request<T extends CallTag>(call: Call<T>): Promise<Result<T>> {
    const tag = call.tag as T;
    if (this.closed !== null) return Promise.reject(new IpcRequestError(tag, 'gone', `${tag}: ${this.closed}`));
    const id = ++this.nextId;
    const timeoutMs = this.options.timeouts?.[tag] ?? REQUEST_TIMEOUT_MS[tag];
    return new Promise<Result<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcRequestError(tag, 'timeout', `${tag}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { tag, resolve: resolve as (result: unknown) => void, reject, timer });
      if (!this.options.send({ ...call, id } as Message)) this.settle(id, (p) => p.reject(new IpcRequestError(tag, 'gone', `${tag}: the other side is gone`)));
    });
  }

  /** Tells the other side something it need not answer; dropped when it is gone. */
  notify(notice: Notice): void {
    if (this.closed === null) this.options.send(notice);
  }

  /** Tells `listener` of each notice the other side sends. */
  onNotice(listener: (notice: Notice) => void): void {
    this.listeners.push(listener);
  }

  /** Takes one message from the channel. Anything that is not ours, or not well formed, is ignored. */
  receive(raw: unknown): void {
    const message = parseMessage(raw);
    if (message === null) return;
    switch (message.tag) {
      case 'reply':
        return this.settle(message.id, (p) => p.resolve(message.result));
      case 'failure':
        return this.settle(message.id, (p) => p.reject(new IpcRequestError(p.tag, 'failed', `${p.tag}: ${message.error}`)));
      case 'invalidate':
        for (const listener of this.listeners) listener(message);
        return;
      default:
        return void this.answer(message.id, message);
    }
  }

  /** The other side is gone: every request waiting on it fails now rather than at its deadline. */
  close(reason: string): void {
    this.closed = reason;
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(new IpcRequestError(p.tag, 'gone', `${p.tag}: ${reason}`)));
  }

  private settle(id: number, how: (pending: Pending) => void): void {
    // A reply after the deadline, or to a request this side never made, finds nothing here.
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    how(pending);
  }

  private async answer(id: number, call: Call): Promise<void> {
    const handler = this.options.answers?.[call.tag] as ((call: Call) => unknown) | undefined;
    let reply: Message;
    try {
      if (!handler) throw new Error(`no handler for ${call.tag}`);
      reply = { tag: 'reply', id, result: (await handler(call)) ?? null };
    } catch (error) {
      reply = { tag: 'failure', id, error: error instanceof Error ? error.message : String(error) };
    }
    if (this.closed === null) this.options.send(reply);
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

/**
 * A TCP proxy the tests control, between Gatehouse and a real Postgres or Redis:
 * - pass: bytes flow both ways;
 * - refuse: nothing listens on the port (connection refused), open connections are reset;
 * - blackhole: connections are accepted and kept open, but nothing is ever answered (a stopped
 *   process, a network dropping packets): the failure that waits for ever without deadlines.
 * Leaving blackhole resets the connections it held, as a network coming back would.
 */
export class FaultProxy {
  private mode: ProxyMode = 'pass';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `targetUrl`'s host and port. */
  static async start(targetUrl: string, mode: ProxyMode = 'pass'): Promise<FaultProxy> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port) };
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const proxy = new FaultProxy(port, target);
    await proxy.set(mode);
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  route(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async set(mode: ProxyMode): Promise<void> {
    const before = this.mode;
    this.mode = mode;
    if (mode === 'refuse' || before === 'blackhole') this.resetAll();
    if (mode === 'refuse') await this.stopListening();
    else await this.listen();
  }

  async close(): Promise<void> {
    this.resetAll();
    await this.stopListening();
  }

  private resetAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'blackhole') return; // accepted, never answered
    const upstream = connect(this.target.port, this.target.host);
    this.track(upstream);
    // Every chunk is checked against the mode, so a live connection goes silent when black-holed.
    client.on('data', (chunk) => this.mode === 'pass' && upstream.write(chunk));
    upstream.on('data', (chunk) => this.mode === 'pass' && client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
  }
}

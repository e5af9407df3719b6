import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly logs: string[];
  stop(): Promise<number | null>;
}

/**
 * The real service as a child process, on a port the OS picks, with its JSON logs captured.
 * `nodeArgs` go to node before the CLI (flags, `--import` of a probe).
 */
export function startServerProcess(env: Record<string, string>, { nodeArgs = [] }: { nodeArgs?: string[] } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...CLI, 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      logs.push(d.toString());
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(d.toString());
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, logs, stop });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('')}`)));
  });
}

/** Runs the gatehouse CLI to completion. */
export function runCli(args: string[], env: Record<string, string>, input?: string) {
  return spawnSync(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 30_000 });
}

/** Polls `check` until it returns true or `ms` pass; returns how long it took, or -1. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started <= ms) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return -1;
}

/** A port nobody listens on right now (for servers that cannot take PORT=0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

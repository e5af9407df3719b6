// The benchmark's child processes (servers under test), shared by run.mjs and scale.mjs: started
// with their output's tail kept, watched so that a server dying mid-run stops the load test and
// fails the run with that output, and stopped gracefully (then forcibly) at the end.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './http.mjs';

// Keeps only the tail of a child's output: enough to explain a failed start without holding
// megabytes of logs if the child is chatty.
function tailBuffer(limit = 60) {
  const lines = [];
  return {
    push(chunk) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim()) lines.push(line);
      }
      if (lines.length > limit) lines.splice(0, lines.length - limit);
    },
    text: () => lines.join('\n'),
  };
}

export class Supervisor {
  children = new Set();
  shuttingDown = false;
  /** Set when a server dies mid-run; the running load test is stopped. */
  fatal = null;
  /** The autocannon instance running now, if any. */
  currentLoad = null;

  constructor(cwd) {
    this.cwd = cwd;
  }

  start(name, args, opts) {
    const child = spawn(process.execPath, args, { cwd: this.cwd, ...opts });
    const output = tailBuffer();
    child.stdout?.on('data', (c) => output.push(c));
    child.stderr?.on('data', (c) => output.push(c));
    const entry = { name, child, output, exited: false };
    child.on('exit', (code, signal) => {
      entry.exited = true;
      this.children.delete(entry);
      if (!this.shuttingDown && !this.fatal) {
        this.fatal = new Error(`${name} exited unexpectedly (code ${code}, signal ${signal})\n${output.text()}`);
        this.currentLoad?.stop();
      }
    });
    this.children.add(entry);
    return entry;
  }

  async stop(entry) {
    if (entry.exited) return;
    const exited = new Promise((resolve) => entry.child.once('exit', resolve));
    entry.child.kill('SIGTERM');
    // A graceful shutdown may wait for keep-alive sockets; don't let it hang the run.
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Starts the built Gatehouse (`main`, dist/cli/main.js) on a free port over the SQLite file `db`,
   * configured for measuring, and resolves once /health answers 200.
   */
  async startGatehouse({ name, main, host, db, workers = 1, timeoutMs }) {
    if (!fs.existsSync(main)) {
      throw new Error(`${path.relative(this.cwd, main)} not found: run "npm run build" (the npm scripts do it)`);
    }
    const port = await freePort(host);
    // As npm start and the README's production command run it (see src/cli/v8-tuning.ts).
    const entry = this.start(name, ['--no-memory-reducer', main, 'serve'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: host,
        DATABASE_URL: `sqlite:${db}`,
        RATE_LIMIT: 'off', // otherwise the load test measures 429s
        LOG_LEVEL: 'warn', // per-request logging would be measured too
        // Explicit so a developer's .env cannot switch the algorithm or the process model under us.
        JWT_ALGORITHM: 'EdDSA',
        WORKERS: String(workers),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const base = `http://${host}:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.fatal) throw this.fatal;
      try {
        const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return { base, entry, deadline };
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${name} /health not 200 after ${timeoutMs / 1000} s\n${entry.output.text()}`);
  }

  /**
   * One autocannon run against `target`, raw (unaggregated) so that several rounds can be merged
   * into one latency histogram: p99 is then a true p99 over all rounds, not an average of p99s.
   * Fails when a server died during it.
   */
  async load(target, duration) {
    // Per-run setup that must not be measured (the refresh route's logins).
    await target.prepare?.();
    if (this.fatal) throw this.fatal;
    const instance = autocannon({
      url: target.base + target.path,
      method: target.method ?? 'GET',
      headers: target.headers,
      body: target.body,
      requests: target.requests?.(),
      connections: target.connections,
      // A fixed number of requests when the target says so, else a fixed time.
      ...(target.amount ? { amount: target.amount } : { duration }),
      skipAggregateResult: true,
    });
    this.currentLoad = instance;
    try {
      const raw = await instance;
      if (this.fatal) throw this.fatal;
      return raw;
    } finally {
      this.currentLoad = null;
    }
  }

  /** Stops every child, then removes the SQLite files (after, so they cannot be recreated). */
  async stopAll(databases = []) {
    this.shuttingDown = true;
    this.currentLoad?.stop();
    await Promise.all([...this.children].map((entry) => this.stop(entry)));
    for (const db of databases) {
      for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(db + suffix, { force: true });
    }
  }
}

// Drives the observer process (`probe.js`) over IPC, one request at a time.
import { fork, type ChildProcess } from 'node:child_process';
import type { ApiResult, ProbeReply, ProbeRequest, WatchResult } from './probe.js';

export class Probe {
  private readonly child: ChildProcess;
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.child = fork(new URL('./probe.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: ProbeReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(`probe process: ${m.error}`));
    });
    this.child.on('exit', (code) => {
      this.pending?.reject(new Error(`probe process exited (${code})`));
      this.pending = undefined;
    });
  }

  /** Starts noting when `commit` reaches every (cluster, bundle) on `subject` (a wildcard). */
  async watch(natsUrl: string, subject: string, commit: string, expected: number): Promise<void> {
    await this.call({ op: 'watch', natsUrl, subject, commit, expected });
  }

  async watchResult(): Promise<WatchResult> {
    return (await this.call({ op: 'watchResult' })) as WatchResult;
  }

  /** Starts calling `paths` of the REST API in turn until `apiStop`. */
  async api(hubUrl: string, token: string, paths: string[]): Promise<void> {
    await this.call({ op: 'api', hubUrl, token, paths });
  }

  async apiStop(): Promise<ApiResult> {
    return (await this.call({ op: 'apiStop' })) as ApiResult;
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    return exited;
  }

  private call(req: ProbeRequest): Promise<unknown> {
    const run = () =>
      new Promise((resolve, reject) => {
        this.pending = { resolve, reject };
        this.child.send(req);
      });
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

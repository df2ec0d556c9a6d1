// Where the simulated agents run: in the bench process (next to the hub), or in one child
// process, so that the hub's process holds the hub alone (its RSS, its event loop).
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplyLog, startFleet, type Fleet } from './fleet.js';

/** Upserts applied by the agents since `record()`, with the first and last time (epoch ms). */
export interface Applies {
  count: number;
  first: number;
  last: number;
}

export interface AgentHost {
  /** Starts one agent per token; resolves once every agent is bootstrapped. */
  start(hubUrl: string, tokens: readonly string[], concurrency: number): Promise<void>;
  /** Starts counting applies (from zero). */
  record(): Promise<void>;
  applies(): Promise<Applies>;
  /** RSS (MiB) of the agents' process, after a full GC when run with --expose-gc. */
  rssMiB(): Promise<number>;
  stop(): Promise<void>;
}

/** RSS of this process in MiB, after a full GC when node runs with --expose-gc. */
export async function rssMiB(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    await sleep(50);
    gc();
  }
  return process.memoryUsage.rss() / 2 ** 20;
}

/** Agents in this process. */
export class InlineAgents implements AgentHost {
  private readonly log = new ApplyLog();
  private fleet: Fleet | undefined;

  async start(hubUrl: string, tokens: readonly string[], concurrency: number): Promise<void> {
    this.fleet = await startFleet(hubUrl, tokens, concurrency, this.log);
  }

  record(): Promise<void> {
    this.log.start();
    return Promise.resolve();
  }

  applies(): Promise<Applies> {
    this.log.recording = false;
    return Promise.resolve({ count: this.log.count, first: this.log.first, last: this.log.last });
  }

  rssMiB(): Promise<number> {
    return rssMiB();
  }

  async stop(): Promise<void> {
    const fleet = this.fleet;
    this.fleet = undefined;
    await fleet?.stop();
  }
}

/** A request to the agents' child process and its answer. */
export type WorkerCall =
  | { op: 'start'; hubUrl: string; tokens: string[]; concurrency: number }
  | { op: 'record' | 'applies' | 'rss' | 'stop' };
export type WorkerRequest = WorkerCall & { id: number };
export type WorkerReply =
  { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };

/** Agents in one child process (`agent-worker.js`), driven over IPC. */
export class ChildAgents implements AgentHost {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private exited = false;

  constructor() {
    this.child = fork(new URL('./agent-worker.js', import.meta.url), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerReply) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(`agent process: ${m.error}`));
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`agent process exited (${code})`));
      this.waiting.clear();
    });
  }

  async start(hubUrl: string, tokens: readonly string[], concurrency: number): Promise<void> {
    await this.call({ op: 'start', hubUrl, tokens: [...tokens], concurrency });
  }

  async record(): Promise<void> {
    await this.call({ op: 'record' });
  }

  async applies(): Promise<Applies> {
    return (await this.call({ op: 'applies' })) as Applies;
  }

  async rssMiB(): Promise<number> {
    return (await this.call({ op: 'rss' })) as number;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call({ op: 'stop' }).catch(() => undefined);
    await exited;
  }

  private call(req: WorkerCall): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error('agent process exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...req, id });
    });
  }
}

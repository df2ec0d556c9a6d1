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
  /** RSS (MiB) of the agents' processes, after a full GC when run with --expose-gc. */
  rssMiB(): Promise<number>;
  /** Stops the agent of token `i`. */
  stopAgent(i: number): Promise<void>;
  /** Starts the agent of token `i` again. */
  restartAgent(i: number): Promise<void>;
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

  async stopAgent(i: number): Promise<void> {
    await this.fleet?.stopAgent(i);
  }

  async restartAgent(i: number): Promise<void> {
    await this.fleet?.restartAgent(i);
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
  | { op: 'record' | 'applies' | 'rss' | 'stop' }
  | { op: 'stopAgent' | 'restartAgent'; index: number };
export type WorkerRequest = WorkerCall & { id: number };
export type WorkerReply =
  { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: string };

/** Agents in a child process (`agent-worker.js`), driven over IPC. */
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

  async stopAgent(index: number): Promise<void> {
    await this.call({ op: 'stopAgent', index });
  }

  async restartAgent(index: number): Promise<void> {
    await this.call({ op: 'restartAgent', index });
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

/**
 * Agents spread over `processes` child processes (contiguous shares of the tokens), so that
 * more than one core can run them.
 */
export class ChildAgentPool implements AgentHost {
  private readonly children: ChildAgents[];
  private share = 1;

  constructor(processes: number) {
    this.children = Array.from({ length: processes }, () => new ChildAgents());
  }

  async start(hubUrl: string, tokens: readonly string[], concurrency: number): Promise<void> {
    this.share = Math.max(1, Math.ceil(tokens.length / this.children.length));
    const each = Math.max(1, Math.ceil(concurrency / this.children.length));
    await Promise.all(
      this.children.map((c, p) =>
        c.start(hubUrl, tokens.slice(p * this.share, (p + 1) * this.share), each),
      ),
    );
  }

  async record(): Promise<void> {
    await Promise.all(this.children.map((c) => c.record()));
  }

  async applies(): Promise<Applies> {
    // A process that applied nothing has no first and last time.
    const all = (await Promise.all(this.children.map((c) => c.applies()))).filter(
      (a) => a.count > 0,
    );
    if (all.length === 0) return { count: 0, first: Number.POSITIVE_INFINITY, last: 0 };
    return {
      count: all.reduce((n, a) => n + a.count, 0),
      first: Math.min(...all.map((a) => a.first)),
      last: Math.max(...all.map((a) => a.last)),
    };
  }

  async rssMiB(): Promise<number> {
    const all = await Promise.all(this.children.map((c) => c.rssMiB()));
    return all.reduce((sum, r) => sum + r, 0);
  }

  stopAgent(i: number): Promise<void> {
    return this.children[Math.floor(i / this.share)]!.stopAgent(i % this.share);
  }

  restartAgent(i: number): Promise<void> {
    return this.children[Math.floor(i / this.share)]!.restartAgent(i % this.share);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
  }
}

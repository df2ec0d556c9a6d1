// An agents' child process of `--agents child`: runs its share of the fleet on requests from
// the bench.
import { InlineAgents, type WorkerReply, type WorkerRequest } from './agent-host.js';

const agents = new InlineAgents();

function reply(message: WorkerReply): void {
  process.send?.(message);
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'start':
      return agents.start(req.hubUrl, req.tokens, req.concurrency);
    case 'record':
      return agents.record();
    case 'applies':
      return agents.applies();
    case 'rss':
      return agents.rssMiB();
    case 'stopAgent':
      return agents.stopAgent(req.index);
    case 'restartAgent':
      return agents.restartAgent(req.index);
    case 'stop':
      await agents.stop();
      return undefined;
  }
}

process.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (value) => {
      reply({ id: req.id, ok: true, value });
      if (req.op === 'stop') process.disconnect();
    },
    (err: unknown) => reply({ id: req.id, ok: false, error: String(err) }),
  );
});
// The bench went away: stop too.
process.on('disconnect', () => {
  void agents.stop().finally(() => process.exit(0));
});

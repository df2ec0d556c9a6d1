import { type Command, InvalidArgumentError } from 'commander';

/** A commander option parser for counts. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Runs a benchmark's command line, then exits: 0, or 1 with the error on stderr. */
export function runBenchCommand(program: Command): void {
  program.parseAsync(process.argv).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(
        `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}

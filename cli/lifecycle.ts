/**
 * Keeps the process alive until SIGINT or SIGTERM, then runs `shutdown` once and exits. A second
 * signal while shutting down exits at once.
 */
export function stopOnSignal(
  shutdown: () => Promise<void>,
  log: (line: string) => void = console.error,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: shutting down…`);
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`error while shutting down: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

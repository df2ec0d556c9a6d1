import type { CliContext } from './context.js';
import { isHumanOutput, type OutputFormat } from './output.js';

/**
 * Shows `render()` now and again every `intervalMs` until `ctx.stop` aborts (or Ctrl-C): on a
 * terminal the screen is redrawn; elsewhere (a pipe, a log) a new view is written only when it
 * differs from the last one, so the output is the list of changes.
 */
export async function watchOutput(
  ctx: Pick<CliContext, 'stdout' | 'stop'>,
  output: OutputFormat,
  intervalMs: number,
  render: () => Promise<string>,
): Promise<void> {
  const redraw = isHumanOutput(output) && (ctx.stdout as { isTTY?: boolean }).isTTY === true;
  let last: string | undefined;
  while (!ctx.stop?.aborted) {
    const text = await render();
    if (redraw) {
      ctx.stdout.write(
        `\x1b[2J\x1b[H${text}\n(refreshing every ${intervalMs / 1000}s; Ctrl-C to stop)\n`,
      );
    } else if (text !== last) {
      ctx.stdout.write(last === undefined || !isHumanOutput(output) ? text : `\n${text}`);
    }
    last = text;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      ctx.stop?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

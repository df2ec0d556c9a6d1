import { createServer } from 'node:net';

/**
 * Asks the kernel for a TCP port that is free on `host` right now (bind to port 0, read it back,
 * release it). Another process may still take it before the caller binds, so callers that spawn
 * a server on it retry with a fresh port when the bind fails.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not determine a free port on ${host}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

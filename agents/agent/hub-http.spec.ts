import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from './hub-http.js';

describe('postJson', () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('posts the body with its headers, following a 308 redirect', async () => {
    const seen: string[] = [];
    const url = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${body}`);
        if (req.url === '/old') res.writeHead(308, { location: '/new' }).end();
        else res.writeHead(201, 'Made').end('{"ok":true}');
      });
    });
    const answer = await postJson(
      new URL(`${url}/old`),
      { authorization: 'Bearer t' },
      '{"a":1}',
      new AbortController().signal,
    );
    expect(answer).toEqual({ status: 201, statusText: 'Made', text: '{"ok":true}' });
    expect(seen).toEqual(['POST /old Bearer t {"a":1}', 'POST /new Bearer t {"a":1}']);
  });

  it("rejects with the signal's reason when it aborts, and with the network error", async () => {
    const url = await listen(() => {
      // never answers
    });
    await expect(postJson(new URL(url), {}, '{}', AbortSignal.timeout(50))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await expect(
      postJson(new URL('http://127.0.0.1:1/'), {}, '{}', new AbortController().signal),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

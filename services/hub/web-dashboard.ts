import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { projectRoot } from '../../libs/contracts/index.js';

/** Where `npm run build` puts the web dashboard (Vite's output). */
export function dashboardDir(): string {
  return join(projectRoot(), 'dist', 'web');
}

/** Paths the hub itself answers: the API and the operational endpoints; never the dashboard. */
export function isHubPath(path: string): boolean {
  return (
    path === '/api' ||
    path.startsWith('/api/') ||
    ['/healthz', '/readyz', '/metrics'].includes(path.replace(/\/+$/, ''))
  );
}

/**
 * Serves the web dashboard at `/`: its files, and `index.html` for any other page the browser
 * asks for (client-side routes such as /rollouts/ID), never for `/api`. Returns false (and serves
 * nothing) when the dashboard was not built.
 */
export function serveDashboard(app: NestExpressApplication, dir = dashboardDir()): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;
  app.useStaticAssets(dir, { index: false });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isHubPath(req.path)) return next();
    if (!req.accepts('html')) return next();
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  });
  return true;
}

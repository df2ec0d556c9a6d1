import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The flotilla checkout or install directory (where package.json and proto/ live). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the flotilla project root');
    dir = parent;
  }
}

/** Path of the gRPC API definition. */
export function fleetProtoPath(): string {
  return join(projectRoot(), 'proto', 'flotilla', 'v1', 'fleet.proto');
}

/** The version of this build, from package.json. */
export function flotillaVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

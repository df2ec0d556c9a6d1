import { type HubServiceName, hubServiceNames } from './service-names.js';

/** Parses `--services api,status`; throws naming the unknown ones. */
export function parseServices(text: string): HubServiceName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(hubServiceNames as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `unknown service(s) "${unknown.join(',')}"; choose from ${hubServiceNames.join(', ')}`,
    );
  }
  return [...new Set(names)] as HubServiceName[];
}

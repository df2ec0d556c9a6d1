import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { unpackChart } from './chart-cache.js';
import { parseOciRef } from './oci.js';

/** A gzipped ustar archive of regular files (what `helm package` writes, minus the extras). */
function tgz(files: Record<string, string>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const CHART = 'apiVersion: v2\nname: web\nversion: 1.0.0\n';

describe('unpackChart', () => {
  it('strips the top directory', () => {
    const files = unpackChart(
      tgz({ 'web/Chart.yaml': CHART, 'web/templates/a.yaml': 'x' }),
      1e6,
      'web',
    );
    expect([...files.keys()].sort()).toEqual(['Chart.yaml', 'templates/a.yaml']);
  });

  it.each<[string, Record<string, string> | Uint8Array, RegExp]>([
    [
      'an entry leaving the chart',
      { 'web/Chart.yaml': CHART, 'web/../../etc/cron.d/x': 'x' },
      /is not inside the chart directory/,
    ],
    [
      'an absolute entry',
      { 'web/Chart.yaml': CHART, '/etc/passwd': 'x' },
      /is not inside the chart directory/,
    ],
    [
      'two top directories',
      { 'web/Chart.yaml': CHART, 'other/a.yaml': 'x' },
      /more than one top directory/,
    ],
    [
      'no Chart.yaml at the top',
      { 'web/sub/Chart.yaml': CHART },
      /no Chart.yaml in its top directory/,
    ],
    ['a file at the top level', { 'Chart.yaml': CHART }, /is not inside the chart directory/],
    ['something that is not gzip', new TextEncoder().encode('<html>'), /not a chart archive/],
    [
      'more than the unpacked limit',
      { 'web/Chart.yaml': CHART, 'web/big': 'x'.repeat(100_000) },
      /unpacks to more than the limit of 10000 bytes/,
    ],
  ])('refuses %s', (_name, files, message) => {
    const archive = files instanceof Uint8Array ? files : tgz(files);
    expect(() => unpackChart(archive, 10_000, 'chart web')).toThrow(message);
  });
});

describe('parseOciRef', () => {
  it.each([
    ['oci://ghcr.io/org/charts/web', { registry: 'ghcr.io', repository: 'org/charts/web' }],
    [
      'oci://127.0.0.1:5000/charts/web:1.2.3',
      { registry: '127.0.0.1:5000', repository: 'charts/web', tag: '1.2.3' },
    ],
    [
      'oci://r.example.com/web:1.0.0_build.1',
      { registry: 'r.example.com', repository: 'web', tag: '1.0.0_build.1' },
    ],
  ])('%s', (ref, expected) => {
    expect(parseOciRef(ref)).toEqual(expected);
  });

  it.each([
    'oci://ghcr.io',
    'oci://ghcr.io/',
    'https://ghcr.io/org/web',
    'oci://ghcr.io/org/web@sha256:abc',
  ])('refuses %s', (ref) => {
    expect(() => parseOciRef(ref)).toThrow(/not an OCI reference/);
  });
});

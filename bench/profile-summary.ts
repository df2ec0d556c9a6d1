// `node dist-bench/bench/profile-summary.js FILE.cpuprofile [TOP]`: self time by function of a
// V8 CPU profile (e.g. one written by `npm run bench -- --steady 60s --steady-cpu-profile FILE`).
import { readFileSync } from 'node:fs';
import {
  formatSelfTime,
  selfTimeByFunction,
  type CpuProfile,
} from '../libs/profiling/self-time.js';

const [file, top] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
process.stdout.write(`${formatSelfTime(selfTimeByFunction(profile), Number(top ?? 25))}\n`);

// Cost of reading the interface drop counters, run inside a namespace holding the
// interfaces (bench/interface_read.sh makes one with N veths):
//   node bench/interface_read.mjs ROUNDS
// Prints one JSON line: interfaces read, and per read the wall time and the process CPU
// time (user + system, which includes the kernel's work behind each sysfs file) of the
// agent's reader (dist/receiver/dropreason/interfaces.js: 6 files per
// interface), and of the same files read synchronously for comparison.
import fs from 'node:fs';
import path from 'node:path';

const { readInterfaceCounters } = await import(new URL('../dist/receiver/dropreason/interfaces.js', import.meta.url));
const rounds = Number(process.argv[2] ?? 50);
const all = () => true;

async function measure(read) {
  await read(); // warm up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < rounds; i++) n = (await read()).length;
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
  const cpu = process.cpuUsage(cpu0);
  return { interfaces: n, wall_ms: +wallMs.toFixed(3), cpu_ms: +((cpu.user + cpu.system) / 1000 / rounds).toFixed(3) };
}

const STATS = ['rx_dropped', 'rx_missed_errors', 'rx_fifo_errors', 'rx_over_errors', 'tx_dropped'];
function readSync() {
  return fs.readdirSync('/sys/class/net').map((name) => {
    const dir = path.join('/sys/class/net', name);
    const ifindex = fs.readFileSync(path.join(dir, 'ifindex'), 'utf8');
    return { name, ifindex, counters: STATS.map((s) => fs.readFileSync(path.join(dir, 'statistics', s), 'utf8')) };
  });
}

console.log(
  JSON.stringify({
    rounds,
    agent: await measure(() => readInterfaceCounters(all)),
    sync: await measure(async () => readSync()),
  }),
);

// What loading a module costs resident, in a fresh process each: VmRSS (anonymous and
// file-backed) after a full GC, before and after `import()` of the given modules. Run by
// bench/memory.sh with bin/dropreason's Node flags:
//
//   node --expose-gc [FLAGS] bench/import_cost.mjs MODULE...
//
// A MODULE written require:NAME is loaded with require() instead of import(): for Node's
// own modules the difference can be large (an import touches every lazy export).
// Prints one markdown table row: modules, RSS after, and the growth of RSS, RssAnon,
// RssFile and the V8 heap in use, in MiB.
import fs from 'node:fs';
import { createRequire } from 'node:module';

function status() {
  globalThis.gc?.();
  const text = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)[1]);
  return {
    rss: kb('VmRSS') / 1024,
    anon: kb('RssAnon') / 1024,
    file: kb('RssFile') / 1024,
    heap: process.memoryUsage().heapUsed / 1048576,
  };
}

const modules = process.argv.slice(2);
const before = status();
const require = createRequire(import.meta.url);
for (const m of modules) {
  if (m.startsWith('require:')) require(m.slice('require:'.length));
  else await import(m);
}
// Work a module schedules at load (timers, promises) runs before the second reading.
await new Promise((resolve) => setTimeout(resolve, 300));
const after = status();
const f = (x) => x.toFixed(1);
const name = modules.length ? modules.map((m) => `\`${m}\``).join(' + ') : '(nothing: the bare process)';
console.log(
  `| ${name} | ${f(after.rss)} | ${f(after.rss - before.rss)} | ${f(after.anon - before.anon)} | ${f(after.file - before.file)} | ${f(after.heap - before.heap)} |`,
);

// Loads a BPF object with the agent's own addon and attaches all its programs until
// SIGTERM or SIGINT; prints "attached" once they are. Usage: node bench/attach.mjs OBJECT
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { BpfObject } = require('../build/Release/bpf_addon.node');

const object = new BpfObject(process.argv[2]);
await object.load();
for (const p of object.programs()) await object.attach(p.name);
console.log('attached');
const stop = () => {
  object.detach();
  object.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);

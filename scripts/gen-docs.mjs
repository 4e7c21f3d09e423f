// Writes docs/configuration.md and docs/metrics.md from the built code (npm run docs).
import fs from 'node:fs';

const { registry } = await import('../dist/components.js');
const { configReference, metricsReference } = await import('../dist/service/reference.js');
fs.writeFileSync(new URL('../docs/configuration.md', import.meta.url), configReference(registry));
fs.writeFileSync(new URL('../docs/metrics.md', import.meta.url), metricsReference(registry));

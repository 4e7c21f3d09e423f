// Preloaded with --import: writes the URL of every module the process resolves, ESM and
// CommonJS, one a line, to the file named by DROPREASON_MODULE_LOG when it exits.
import fs from 'node:fs';
import module from 'node:module';

const seen = new Set();
module.registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    seen.add(resolved.url);
    return resolved;
  },
});
process.on('exit', () => fs.writeFileSync(process.env.DROPREASON_MODULE_LOG, [...seen].join('\n') + '\n'));

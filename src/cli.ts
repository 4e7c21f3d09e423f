/**
 * dropreason [--config FILE]          run the agent
 * dropreason validate [--config FILE] check a config without loading anything
 * dropreason top [OPTIONS]            live view of the drops in the terminal
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { registry } from './components.js';
import { packageRoot } from './native/binding.js';
import { ConfigError, parseConfig, type AgentConfig } from './service/config.js';
import { createLogger } from './service/logger.js';
import { Service } from './service/service.js';
import { EndpointSource } from './top/endpoint_source.js';
import { LocalSource } from './top/local_source.js';
import { TOP_HELP, UsageError, parseTopArgs, type TopOptions } from './top/options.js';
import { runTop } from './top/top.js';
import { VERSION } from './version.js';

export const DEFAULT_CONFIG = path.join(packageRoot, 'otel-config.yaml');

const HELP = `dropreason ${VERSION}: counts the packets the Linux kernel drops, by reason and
direction, with eBPF, and exports them as OpenTelemetry metrics.

Usage:
  dropreason [--config FILE]           run the agent (default: the embedded otel-config.yaml)
  dropreason validate [--config FILE]  check a config file without loading eBPF
  dropreason top [OPTIONS]             live view of the drops by reason, direction and pod;
                                       dropreason top --help for its options

Options:
  -c, --config FILE   Collector-format YAML config (receivers, exporters, service.pipelines)
  -h, --help          show this help
  -v, --version       show the version

Running needs root, or CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8),
and a kernel with BTF (/sys/kernel/btf/vmlinux). SIGINT or SIGTERM detaches and exits.
Docs: docs/ in the source tree.
`;

/** Exit codes: 0 fine, 1 failed at run time, 2 bad usage or config. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`dropreason: ${message}\n`);
  process.exit(code);
}

function loadConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT_USAGE);
  }
  try {
    return parseConfig(text, registry);
  } catch (err) {
    if (err instanceof ConfigError) {
      fail(
        `invalid configuration in ${file}:\n${err.issues.map((i) => `  ${i.path || '(top level)'}: ${i.message}`).join('\n')}`,
        EXIT_USAGE,
      );
    }
    throw err;
  }
}

async function top(argv: string[]): Promise<void> {
  let opts: TopOptions;
  try {
    opts = parseTopArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(`top: ${err.message}\nRun dropreason top --help for usage.`, EXIT_USAGE);
    throw err;
  }
  if (opts.help) {
    process.stdout.write(TOP_HELP);
    return;
  }
  const source = opts.endpoint
    ? new EndpointSource(opts.endpoint, opts.intervalMs)
    : new LocalSource(opts, createLogger('warn', 'top'));
  let code: number;
  try {
    code = await runTop(opts, source, { out: process.stdout, err: (text) => process.stderr.write(text) });
  } catch (err) {
    const message = (err as Error).message;
    // The agent's own message, and the way that needs no privileges.
    const hint = message.includes('missing capability')
      ? '; or read a running agent without them: dropreason top --endpoint URL'
      : '';
    fail(message + hint, EXIT_RUNTIME);
  }
  // The pipeline may leave watches and sockets behind; the view is done.
  process.exit(code);
}

async function run(file: string): Promise<void> {
  const config = loadConfig(file);
  const logger = createLogger(config.telemetry.logs.level, 'service', undefined, config.telemetry.logs.encoding);
  logger.info('starting', { version: VERSION, config: file, pid: process.pid });
  const service = new Service(config, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting without a clean shutdown', { signal });
      process.exit(EXIT_RUNTIME);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    service.shutdown().then(
      () => {
        logger.info('stopped: all programs detached');
        process.exit(0);
      },
      (err: unknown) => fail(`shutdown failed: ${(err as Error).message}`, EXIT_RUNTIME),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    await service.start();
  } catch (err) {
    fail((err as Error).message, EXIT_RUNTIME);
  }
}

export async function main(argv: string[]): Promise<void> {
  // top has options of its own.
  if (argv[0] === 'top') return top(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\nRun dropreason --help for usage.`, EXIT_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    process.stdout.write(`dropreason ${VERSION}\n`);
    return;
  }
  const file = values.config ?? DEFAULT_CONFIG;
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1 || !['run', 'validate'].includes(command)) {
    fail(`unknown command '${positionals.join(' ')}': use run (the default), validate or top`, EXIT_USAGE);
  }
  if (command === 'validate') {
    const config = loadConfig(file);
    const pipelines = config.pipelines.map((p) => `${p.id} (${p.receivers.join(',')} -> ${p.exporters.join(',')})`);
    process.stdout.write(`${file}: valid; pipelines: ${pipelines.join('; ')}\n`);
    return;
  }
  await run(file);
}

await main(process.argv.slice(2));

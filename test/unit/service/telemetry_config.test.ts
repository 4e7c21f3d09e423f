/** service.telemetry in the Collector's current form: metrics readers and log encoding. */
import { describe, expect, it } from 'vitest';

import { registry } from '../../../src/components.js';
import { parseConfig } from '../../../src/service/config.js';
import { createLogger } from '../../../src/service/logger.js';

const withTelemetry = (telemetry: string) => `receivers:
  dropreason:
exporters:
  debug:
service:
  pipelines:
    metrics:
      receivers: [dropreason]
      exporters: [debug]
  telemetry:
${telemetry}`;

describe('service.telemetry', () => {
  it("takes the Collector's pull/prometheus reader as the address of the agent's own metrics", () => {
    const c = parseConfig(
      withTelemetry(`    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8889
`),
      registry,
    );
    expect(c.telemetry.metrics).toEqual({ level: 'normal', address: { host: '0.0.0.0', port: 8889 } });
  });

  it('reads the reader defaults as the Collector does (localhost:8888)', () => {
    const c = parseConfig(
      withTelemetry('    metrics:\n      readers: [{ pull: { exporter: { prometheus: {} } } }]\n'),
      registry,
    );
    expect(c.telemetry.metrics.address).toEqual({ host: '127.0.0.1', port: 8888 });
  });

  it('refuses readers together with a changed address, and a bad reader', () => {
    expect(() =>
      parseConfig(
        withTelemetry(
          '    metrics:\n      address: 0.0.0.0:9000\n      readers: [{ pull: { exporter: { prometheus: {} } } }]\n',
        ),
        registry,
      ),
    ).toThrow('service.telemetry.metrics.readers: set either readers or address, not both');
    expect(() =>
      parseConfig(withTelemetry('    metrics:\n      readers: [{ periodic: { exporter: { otlp: {} } } }]\n'), registry),
    ).toThrow('service.telemetry.metrics.readers[0].periodic: unknown key; accepted keys are: pull');
    expect(() =>
      parseConfig(
        withTelemetry('    metrics:\n      readers: [{ pull: { exporter: { prometheus: { port: 0 } } } }]\n'),
        registry,
      ),
    ).toThrow(
      'service.telemetry.metrics.readers[0].pull.exporter.prometheus.port: must be between 1 and 65535, but was 0',
    );
  });

  it('takes logs.encoding json or console', () => {
    expect(parseConfig(withTelemetry('    logs:\n      encoding: json\n'), registry).telemetry.logs).toEqual({
      level: 'info',
      encoding: 'json',
    });
    expect(() => parseConfig(withTelemetry('    logs:\n      encoding: logfmt\n'), registry)).toThrow(
      `service.telemetry.logs.encoding: must be one of 'console', 'json', but was "logfmt"`,
    );
  });
});

describe('json log encoding', () => {
  it('writes one JSON object per line with ts, level, msg, component and the fields', () => {
    const lines: string[] = [];
    const logger = createLogger('info', 'service', (l) => lines.push(l), 'json').child('exporters.debug');
    logger.debug('hidden');
    logger.warn('a "quoted" message', { port: 9464, ok: true, skipped: undefined });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toEqual({
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'warn',
      msg: 'a "quoted" message',
      component: 'exporters.debug',
      port: 9464,
      ok: true,
    });
  });
});

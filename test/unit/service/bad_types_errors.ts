/**
 * The errors of testdata/config/bad_types.yaml, each with its YAML path, in the order they are reported:
 * the config reader's test and the CLI's test check them both.
 */
export const BAD_TYPES_ERRORS = [
  'receivers.dropreason.collection_interval: must be a duration such as 10s, 500ms or 1m, but was 10',
  'receivers.dropreason.exclude_reasons: must be a list, but was "NO_SOCKET"',
  `receivers.dropreason.hook: must be one of 'auto', 'tp_btf', 'tracepoint', but was "kprobe"`,
  'receivers.dropreason.btf_path: must not be empty',
  'exporters.prometheus.endpoint: must be an endpoint such as 127.0.0.1:9464, but was 9464',
  `exporters.prometheus.naming: must be one of 'otel', 'retina', but was "grafana"`,
  `exporters.debug.verbosity: must be one of 'basic', 'normal', 'detailed', but was "loud"`,
  'service.telemetry.traces: unknown key; accepted keys are: logs, metrics',
  `service.telemetry.logs.level: must be one of 'debug', 'info', 'warn', 'error', but was "verbose"`,
  `service.telemetry.metrics.level: must be one of 'none', 'basic', 'normal', 'detailed', but was "everything"`,
  'service.pipelines.metrics.receivers: must be a list, but was "dropreason"',
];

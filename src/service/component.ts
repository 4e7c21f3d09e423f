/**
 * The contracts between the service and its components, after the Collector's:
 * factories make components from validated configs; components start and shut down.
 * Data moves between them as ResourceMetrics (the SDK's form of the Collector's pdata), and
 * in logs pipelines as ResourceLogs.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

import type { Logger } from './logger.js';
import type { ComponentMetadata, MetricMetadata } from './metadata.js';
import type { Schema } from './schema.js';
import type { TelemetryMeter } from './self_meter.js';

export type { ResourceMetrics };

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'extension';

/**
 * start() and shutdown() may each be called more than once; shutdown() works without
 * start(). Constructors do no I/O.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
  /** Liveness, for the health_check extension: true, or why the component is not healthy. */
  healthy?(): true | string;
}

/** What the service offers its extensions. */
export interface Host {
  /** True when every pipeline has started and each component is healthy; else the reason. */
  health(): true | string;
}

export interface MetricsConsumer {
  consume(metrics: ResourceMetrics[]): Promise<void>;
  /** Exporters that send somewhere report what they have sent. */
  stats?(): ExporterStats;
}

/** The kinds of data a pipeline carries, as its id names them (`metrics`, `logs/NAME`). */
export type Signal = 'metrics' | 'logs';

/** One log record, as the Collector's pdata holds it. */
export interface LogRecordData {
  /** When the event happened. */
  hrTime: HrTime;
  /** When the agent saw it. */
  observedHrTime: HrTime;
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: Attributes;
}

/** Log records of one resource, by scope: the logs form of ResourceMetrics. */
export interface ResourceLogs {
  resource: Resource;
  scopeLogs: Array<{ scope: { name: string; version?: string }; logRecords: LogRecordData[] }>;
}

export interface LogsConsumer {
  consumeLogs(logs: ResourceLogs[]): Promise<void>;
}

/**
 * What a component sends its data to: metrics always (a consumer that drops them when no
 * metrics pipeline follows), logs only when a logs pipeline follows.
 */
export type Consumer = MetricsConsumer & Partial<LogsConsumer>;

export interface CreateSettings {
  /** Component id as written in the config, `type[/name]`. */
  id: string;
  logger: Logger;
  /** The agent's resource (service.*, host.*). */
  resource: Resource;
  /** For the agent's own metrics (service.telemetry.metrics); a no-op meter when off. */
  meter: TelemetryMeter;
  /** The service running the component; extensions ask it about the pipelines. */
  host?: Host;
}

/** What became of the items (data points, log records) an exporter was given. */
export interface SendCounts {
  /** Items the backend accepted. */
  sent: number;
  /** Items whose export failed for good. */
  failed: number;
  /** Items dropped because the sending queue was full. */
  dropped: number;
}

/**
 * What an exporter has done so far, for the agent's own metrics: data points, and log
 * records apart when it takes logs.
 */
export interface ExporterStats extends SendCounts {
  logRecords?: SendCounts;
}

export interface Factory<C, T extends Component> {
  type: string;
  kind: ComponentKind;
  configSchema: Schema<C>;
  create(settings: CreateSettings, config: C, next: Consumer): T;
  /**
   * The pipelines it may be in; only metrics when absent. A component in a logs pipeline
   * takes logs with consumeLogs() (processors, exporters) or sends them to next.consumeLogs
   * (receivers).
   */
  signals?: readonly Signal[];
  /**
   * Checks what the component needs from the machine (privileges, kernel features)
   * before anything starts; throws an Error that says what is missing.
   */
  preflight?(config: C): void;
  /** The metrics it emits and its own telemetry (its metadata.yaml), for docs/metrics.md. */
  metadata?: ComponentMetadata;
  /** Names an exporter serves metrics under, one column each in docs/metrics.md. */
  metricNames?: readonly MetricNames[];
}

/** How an exporter names a metric it serves; undefined where it keeps the OTel name. */
export interface MetricNames {
  title: string;
  name(metric: string, meta: MetricMetadata): string | undefined;
  /** What a reader of docs/metrics.md should know about these names (labels, types). */
  note?: string;
}

export type ReceiverFactory<C = unknown> = Factory<C, Component>;
export type ExporterFactory<C = unknown> = Factory<C, Component & MetricsConsumer>;
/** Extensions are in no pipeline: their `next` is a consumer that drops everything. */
export type ExtensionFactory<C = unknown> = Factory<C, Component>;

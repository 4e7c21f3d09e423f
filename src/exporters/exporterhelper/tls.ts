/**
 * The tls settings made into what Node's TLS takes: the PEM material (read from the files,
 * so not for constructors), the TLS versions and the name to verify. Both transports use
 * it: gRPC through a SecureContext, HTTPS through the request options.
 */
import fs from 'node:fs';
import tls from 'node:tls';

import type { TlsConfig, TlsVersion } from './config.js';

/** The TLS files the config names, as `[setting, path]`. */
export function tlsFiles(config: TlsConfig): Array<[string, string]> {
  const files: Array<[string, string | undefined]> = [
    ['ca_file', config.ca_file],
    ['cert_file', config.cert_file],
    ['key_file', config.key_file],
  ];
  return files.filter((f): f is [string, string] => f[1] !== undefined);
}

/** Throws an Error naming the setting when a TLS file cannot be read. */
export function checkTlsFiles(config: TlsConfig): void {
  for (const [setting, file] of tlsFiles(config)) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      throw new Error(`tls.${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
      });
    }
  }
}

function read(setting: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`tls.${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

const NODE_VERSION: Record<TlsVersion, tls.SecureVersion> = {
  '1.0': 'TLSv1',
  '1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3',
};

export interface TlsMaterial {
  /** Undefined: the system's CAs. */
  ca: Array<string | Buffer> | undefined;
  cert: string | Buffer | undefined;
  key: string | Buffer | undefined;
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion | undefined;
  /** The name to verify the certificate against and send as SNI, when not the endpoint's host. */
  servername: string | undefined;
  /** False with insecure_skip_verify. */
  verify: boolean;
}

/** Reads the PEM files now. */
export function loadTls(config: TlsConfig): TlsMaterial {
  const caPem = config.ca_file ? read('ca_file', config.ca_file) : config.ca_pem;
  return {
    ca:
      caPem === undefined
        ? undefined
        : config.include_system_ca_certs_pool
          ? [...tls.rootCertificates, caPem]
          : [caPem],
    cert: config.cert_file ? read('cert_file', config.cert_file) : config.cert_pem,
    key: config.key_file ? read('key_file', config.key_file) : config.key_pem,
    minVersion: NODE_VERSION[config.min_version],
    maxVersion: config.max_version === undefined ? undefined : NODE_VERSION[config.max_version],
    servername: config.server_name_override,
    verify: !config.insecure_skip_verify,
  };
}

/** Options for tls.connect / https.request: the material and how to verify. */
export function connectOptions(material: TlsMaterial): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    minVersion: material.minVersion,
    rejectUnauthorized: material.verify,
  };
  if (material.ca) options.ca = material.ca;
  if (material.cert) options.cert = material.cert;
  if (material.key) options.key = material.key;
  if (material.maxVersion) options.maxVersion = material.maxVersion;
  if (material.servername) options.servername = material.servername;
  if (!material.verify) options.checkServerIdentity = () => undefined;
  return options;
}

/** Whether tls.reload_interval says the material is due to be read again. */
export class TlsReloader {
  private loadedAt = -Infinity;
  constructor(private readonly intervalMs: number) {}
  /** True the first time, then once per interval when an interval is set. */
  due(now: number): boolean {
    if (this.loadedAt !== -Infinity && (this.intervalMs <= 0 || now - this.loadedAt < this.intervalMs)) return false;
    this.loadedAt = now;
    return true;
  }
}

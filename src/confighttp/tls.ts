/**
 * Server TLS for the endpoints dropreason serves (/metrics, health checks), with the
 * Collector's keys (configtls server settings): the certificate and key as files or PEM
 * text, a client CA for mutual TLS, and the protocol versions.
 */
import fs from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

import { checked, duration, join, object, oneOf, optional, type Parsed, string } from '../service/schema.js';

const VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
type Version = (typeof VERSIONS)[number];

const fields = {
  cert_file: optional(string({ nonEmpty: true, description: "The server's certificate (PEM file)." })),
  cert_pem: optional(string({ nonEmpty: true, description: "The server's certificate, as PEM text." })),
  key_file: optional(string({ nonEmpty: true, description: "The server's private key (PEM file)." })),
  key_pem: optional(string({ nonEmpty: true, description: "The server's private key, as PEM text." })),
  client_ca_file: optional(
    string({
      nonEmpty: true,
      description: 'CA (PEM file) that scrapers must present a certificate from (mutual TLS).',
    }),
  ),
  ca_file: optional(
    string({
      nonEmpty: true,
      description: 'CA (PEM file) sent along with the certificate chain (as the Collector loads it for servers).',
    }),
  ),
  min_version: oneOf(VERSIONS, { default: '1.2', description: 'Lowest TLS version accepted.' }),
  max_version: optional(
    oneOf(VERSIONS, { description: 'Highest TLS version accepted; default: the highest Node offers.' }),
  ),
  reload_interval: optional(
    duration({
      description:
        'Not supported: the certificate and key are read when the component starts; restart the agent (or roll the DaemonSet) to load new ones.',
    }),
  ),
};

export const tlsSchema = checked(object(fields, { description: 'Serves over HTTPS.' }), (c, path, issues) => {
  const at = (key: string, message: string) => issues.push({ path: join(path, key), message });
  if ((c.cert_file === undefined) === (c.cert_pem === undefined)) {
    at('cert_file', 'exactly one of cert_file or cert_pem is required to serve TLS');
  }
  if ((c.key_file === undefined) === (c.key_pem === undefined)) {
    at('key_file', 'exactly one of key_file or key_pem is required to serve TLS');
  }
  if (c.max_version !== undefined && c.max_version < c.min_version) {
    at('max_version', `must not be below min_version (${c.min_version}), but was ${c.max_version}`);
  }
  if (c.reload_interval !== undefined) {
    at(
      'reload_interval',
      'is not supported: the certificate and key are read when the component starts; restart the agent to load new ones',
    );
  }
});
export type TlsConfig = Parsed<typeof fields>;

const nodeVersion = (v: Version) => `TLSv${v}` as SecureContextOptions['minVersion'];

/** Node's server options; reads the files (call it in start(), not in a constructor). */
export function serverTlsOptions(c: TlsConfig): TlsOptions {
  const read = (file: string | undefined, pem: string | undefined, what: string) => {
    if (pem !== undefined) return pem;
    try {
      return fs.readFileSync(file!, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const options: TlsOptions = {
    cert: read(c.cert_file, c.cert_pem, 'certificate'),
    key: read(c.key_file, c.key_pem, 'key'),
    minVersion: nodeVersion(c.min_version),
  };
  if (c.max_version) options.maxVersion = nodeVersion(c.max_version);
  const cas = [c.ca_file, c.client_ca_file].filter((f): f is string => f !== undefined);
  if (cas.length) options.ca = cas.map((f) => read(f, undefined, 'CA'));
  if (c.client_ca_file) {
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

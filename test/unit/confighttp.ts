/** The HTTP servers' shared settings (confighttp's tls) as the config tests expect them. */
import type { TlsConfig } from '../../src/confighttp/tls.js';

/** A server tls block with only ca_file, cert_file and key_file given; the rest at their defaults. */
export function serverTls(files: { ca_file: string; cert_file: string; key_file: string }): TlsConfig {
  return {
    ...files,
    cert_pem: undefined,
    key_pem: undefined,
    client_ca_file: undefined,
    min_version: '1.2',
    max_version: undefined,
    reload_interval: undefined,
  };
}

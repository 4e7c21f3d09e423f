/** A self-signed certificate for the TLS tests, made with openssl in a temporary folder. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  /** The folder holding key.pem and cert.pem; remove it when done. */
  dir: string;
  key: Buffer;
  cert: Buffer;
  certFile: string;
}

/** A certificate for 127.0.0.1 and each of `dnsNames`, valid for a day; undefined when openssl cannot make one. */
export function testCertificate(dnsNames: string[]): TestCertificate | undefined {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dropreason-tls-'));
    const names = [...dnsNames.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', `subjectAltName=${names}`,
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    const certFile = path.join(dir, 'cert.pem');
    return { dir, key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(certFile), certFile };
  } catch {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** The fake API server of the k8sattributes tests, and the processors each test starts. */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll } from 'vitest';

import type { K8sAttributesProcessor } from '../../../../src/processors/k8sattributes/processor.js';
import { type Certificates, FakeApiServer, makeCertificates } from '../../../k8s/fake_api_server.js';

/**
 * Certificates made once for the file; after each test, the processors it put in
 * `running` are shut down and the server it started is closed.
 */
export function useFakeApiServer(): { start(): Promise<FakeApiServer>; running: K8sAttributesProcessor[] } {
  let certificates: Certificates;
  let server: FakeApiServer | undefined;
  const running: K8sAttributesProcessor[] = [];
  beforeAll(() => {
    certificates = makeCertificates();
  });
  afterAll(() => fs.rmSync(certificates.dir, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.shutdown()));
    await server?.close();
    server = undefined;
  });
  return {
    running,
    async start() {
      server = await FakeApiServer.start({ certificates });
      return server;
    },
  };
}

/**
 * An API server holding PODS pods, for bench/advanced.sh: the fake API server of the tests
 * (test/k8s), over HTTPS with a bearer token, serving realistic pod objects. The first pod
 * has the address given as the first argument (the storm's sender), the others addresses
 * of 10.64.0.0/10; all run on one node, in one namespace. Prints the kubeconfig's path on
 * its first line once the pods are in place, and serves until SIGTERM or SIGINT.
 *
 *   npx tsc -p bench/tsconfig.json && PODS=10000 node bench/.build/bench/fake_pods.js 198.18.0.1
 */
import { FakeApiServer } from '../test/k8s/fake_api_server.js';

const pods = Number(process.env.PODS ?? 10_000);
const first = process.argv[2];
if (!Number.isInteger(pods) || pods < 1 || pods > 4_000_000 || !first) {
  console.error('usage: PODS=N node fake_pods.js SENDER_ADDRESS (1 ≤ N ≤ 4,000,000)');
  process.exit(2);
}

const api = await FakeApiServer.start();
api.addNamespace('bench');
api.addNode('bench-node');
for (let i = 0; i < pods; i++) {
  const n = i + 256; // 10.64.1.0 onwards: no .0 network addresses at the start
  const ip = i === 0 ? first : `10.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  api.addPod({ name: `bench-${i}`, namespace: 'bench', node: 'bench-node', ips: [ip] });
}
console.log(api.kubeconfigPath);

const stop = () => void api.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// Sends traffic for the integration tests, run inside a namespace with `ip netns exec`.
//   node send.mjs udp HOST PORT COUNT PAYLOAD_BYTES   one datagram at a time
//   node send.mjs tcp HOST PORT COUNT                 one connect() at a time
//   node send.mjs syn HOST PORT COUNT HOLD_MS         COUNT connects at once, each closed
//                                                      after HOLD_MS: one SYN each (the
//                                                      first retransmission is after 1 s)
// Prints a JSON line: how many were sent and how each ended.
import dgram from 'node:dgram';
import net from 'node:net';

const [kind, host, port, count, payload] = process.argv.slice(2);
const n = Number(count);
const outcomes = {};
const note = (k) => (outcomes[k] = (outcomes[k] ?? 0) + 1);

if (kind === 'udp') {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const buf = Buffer.alloc(Number(payload), 0x61);
  for (let i = 0; i < n; i++) {
    // An OUTPUT DROP rule makes sendmsg fail with EPERM; the packet was still made and dropped.
    await new Promise((resolve) => sock.send(buf, Number(port), host, (err) => resolve(note(err ? err.code : 'sent'))));
  }
  sock.close();
} else if (kind === 'tcp') {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => {
      const s = net.connect({ host, port: Number(port) });
      s.once('connect', () => (note('connected'), s.destroy(), resolve()));
      s.once('error', (err) => (note(err.code), resolve()));
    });
  }
} else if (kind === 'syn') {
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host, port: Number(port) });
    s.once('connect', () => note('connected'));
    s.once('error', (err) => note(err.code));
    sockets.push(s);
  }
  await new Promise((resolve) => setTimeout(resolve, Number(payload)));
  for (const s of sockets) {
    if (!s.destroyed && s.connecting) note('pending');
    s.destroy();
  }
} else {
  console.error(`unknown kind ${kind}`);
  process.exit(2);
}
console.log(JSON.stringify({ sent: n, outcomes }));

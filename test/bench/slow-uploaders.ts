// A child process of `npm run bench` (section hostileUploads): `clients`
// connections that each announce a `mib` MiB review and send it slowly, as a
// hostile pod would, reconnecting a second after the server refuses or cuts
// them. Raw TLS sockets: the point is what the server holds, not an HTTP
// client's behaviour.
import { connect } from 'node:tls';
import { bigReview } from './scenarios.js';

// Its settings come as JSON in argv; it reports over the IPC channel.
const { host, port, ca, clients, mib, chunkKiB, intervalMs } = JSON.parse(process.argv[2]!) as {
  host: string;
  port: number;
  ca: string;
  clients: number;
  mib: number;
  chunkKiB: number;
  intervalMs: number;
};
const body = Buffer.from(bigReview(mib));
const head = Buffer.from(`POST /validate HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1');
const chunk = chunkKiB * 1024;
let stop = false;
// refused: 503 at once (byte budget); cut: 503 after a while (slow-body cap); closed: no answer (request timeout).
const counts = { connections: 0, refused: 0, cut: 0, answered: 0, closed: 0 };
const sockets = new Set<import('node:tls').TLSSocket>();

function client(): Promise<void> {
  return new Promise((resolve) => {
    const again = () => (stop ? resolve() : setTimeout(() => client().then(resolve), 1000).unref());
    counts.connections++;
    const socket = connect({ host, port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    sockets.add(socket);
    let sent = 0;
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('secureConnect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (stop || sent >= body.length) return clearInterval(timer);
        socket.write(body.subarray(sent, sent + chunk));
        sent += chunk;
      }, intervalMs);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1', 0, Math.min(d.length, 512))));
    socket.on('error', () => undefined);
    socket.on('close', (hadError) => {
      clearInterval(timer);
      sockets.delete(socket);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      if (status === 503) counts[/still arriving/.test(answer) ? 'cut' : 'refused']++;
      else if (status === 200) counts.answered++;
      else if (!stop) counts.closed++;
      void hadError;
      again();
    });
    socket.on('data', () => {
      // An answered review ends the request; the connection is used for nothing else.
      if (/\r\n\r\n/.test(answer) && /^HTTP\/1\.1 200/.test(answer)) socket.destroy();
    });
  });
}

const all = Array.from({ length: clients }, () => client());
process.send!({ started: true, bytes: body.length });
await new Promise<void>((resolve) => process.once('message', () => resolve()));
stop = true;
for (const s of sockets) s.destroy();
await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 3000))]);
process.send!(counts, () => process.exit(0));

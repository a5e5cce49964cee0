// An open-loop load generator: requests are sent on a fixed schedule, whether
// or not earlier ones were answered, and each latency is measured from the
// moment the request was due (a closed-loop client such as autocannon
// measures from when it got round to sending, which hides queueing:
// "coordinated omission"). Latencies are kept exactly, in microseconds.
import { Agent, request } from 'node:https';

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  /** Sorted latencies in ms. */
  latencies: number[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function post(agent: Agent, url: string, ca: string, body: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST `body` to `url` at `rate` requests/s for `durationS` seconds over at most `connections` keep-alive connections. */
export async function openLoop(opts: { url: string; ca: string; body: string; rate: number; durationS: number; connections: number }): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections, maxFreeSockets: opts.connections });
  const total = Math.round(opts.rate * opts.durationS);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.rate));
      for (; sent < due; sent++) {
        const scheduled = start + (sent / opts.rate) * 1000;
        pending.push(
          post(agent, opts.url, opts.ca, opts.body).then(
            (status) => {
              latencies.push(performance.now() - scheduled);
              if (status === 200) ok++;
              else failed++;
            },
            () => {
              failed++;
            },
          ),
        );
      }
      if (sent >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent, ok, failed, latencies };
}

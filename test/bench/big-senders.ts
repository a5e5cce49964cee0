// A worker thread of `npm run bench` that sends multi-megabyte reviews back to
// back on its own keep-alive connections until told to stop. Encrypting and
// writing megabytes takes the sending thread tens of milliseconds a time: in
// the thread of the open-loop generator it delayed the generator's timer by
// ~20 ms and put the client's delay into the measured tail.
import { Agent } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import { post } from './open-loop.js';
import { bigReview } from './scenarios.js';

const { url, ca, connections, mib } = workerData as { url: string; ca: string; connections: number; mib: number };
const big = bigReview(mib);
let stop = false;
let done = 0;
let failed = 0;
parentPort!.on('message', () => (stop = true));
const loops = Array.from({ length: connections }, async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  while (!stop) {
    try {
      if ((await post(agent, url, ca, big)) === 200) done++;
      else failed++;
    } catch {
      failed++;
    }
  }
  agent.destroy();
});
parentPort!.postMessage({ started: true, bytes: Buffer.byteLength(big) });
await Promise.all(loops);
parentPort!.postMessage({ done, failed });

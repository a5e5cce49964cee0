import { generateScaleState, allObjects } from './test/bench/scale/state.js';
import { decisions } from './test/bench/scale/decisions.js';
import { MemoryStore } from './src/cluster/memory-store.js';
import { evaluate } from './src/engine/index.js';
import { parseTenancyConfig } from './src/config/load.js';
import { readEnvelope, readRequest } from './src/server/review.js';
const n = Number(process.argv[2] ?? 100);
const s = generateScaleState(n);
const store = new MemoryStore();
for (const o of allObjects(s)) store.upsert(o as any);
const cfg = parseTenancyConfig(s.config as any, 'cfg');
for (const d of decisions(n).filter((x) => x.key === (process.argv[3] ?? x.key))) {
  const env = readEnvelope(JSON.parse(d.body)); const input = (readRequest(env.uid, env.request) as any).input;
  const times: number[] = [];
  let res: any;
  for (let i = 0; i < 30; i++) { const t0 = process.cpuUsage(); res = evaluate(input, store, cfg); const d = process.cpuUsage(t0); times.push((d.user + d.system) / 1000); }
  times.sort((a, b) => a - b);
  console.log(d.key, 'allowed', res.allowed, 'first', times[0].toFixed(2), 'p50', times[15].toFixed(2), 'max', times[29].toFixed(2), res.violations.map((v: any) => v.rule).join());
}

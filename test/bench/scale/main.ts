// `npm run bench:scale`: the scale scenario alone (TG_BENCH_TENANTS=10,100 for a quick run).
import { runScaleBench } from './bench.js';

runScaleBench().then(
  (ok) => {
    if (!ok) process.exitCode = 1;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  },
);

// Client-side latency of one kind of review against a running serve: the
// same AdmissionReview sent sequentially on one keep-alive TLS connection,
// bounded in count, in total time and per request.
import type { Decision } from './decisions.js';
import { call, cpuMs, type Serve } from './processes.js';

export interface Limits {
  /** Requests after the first (the first checks the answer and warms the connection). */
  requests: number;
  /** Stop sending after this long, whatever the count. */
  budgetMs: number;
  /** Give up on one request after this long: the decision is reported as a timeout and the server restarted. */
  timeoutMs: number;
}

export type Measured =
  /** cpuMs: the server's CPU time per timed review (mean), when /proc tells it. */
  | { kind: 'ok'; p50: number; p99: number; n: number; cpuMs?: number }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'wrong'; message: string }
  /** The engine gave up: its search reached the step budget (a bug on any bench state, issue 17). */
  | { kind: 'budget'; message: string }
  | { kind: 'error'; message: string };

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function verdictOf(body: string): { allowed: boolean; message: string } | undefined {
  try {
    const r = (JSON.parse(body) as { response?: { allowed?: unknown; status?: { message?: unknown } } }).response;
    return typeof r?.allowed === 'boolean' ? { allowed: r.allowed, message: String(r.status?.message ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

export async function measure(serve: Serve, d: Decision, limits: Limits): Promise<Measured> {
  const url = `${serve.url}${d.path}`;
  const t0 = performance.now();
  const first = await call(url, serve.agent, d.body, limits.timeoutMs);
  if (first.kind === 'timeout') return { kind: 'timeout', afterMs: limits.timeoutMs };
  if (first.kind === 'error') return { kind: 'error', message: first.message };
  const v = verdictOf(first.body);
  if (first.status !== 200 || !v) return { kind: 'error', message: `HTTP ${first.status}: ${first.body.slice(0, 300)}` };
  // A fail-closed "denied" from a search that gave up is never the right answer, even where a denial is expected.
  if (/search exceeded [0-9]+ steps/.test(v.message)) return { kind: 'budget', message: v.message };
  const got = v.allowed ? 'allowed' : 'denied';
  if (got !== d.expect) return { kind: 'wrong', message: `${got}, expected ${d.expect}${v.message ? `: ${v.message.slice(0, 300)}` : ''}` };

  const samples: number[] = [];
  const cpu0 = cpuMs(serve.pid);
  while (samples.length < limits.requests && performance.now() - t0 < limits.budgetMs) {
    const r = await call(url, serve.agent, d.body, limits.timeoutMs);
    if (r.kind === 'timeout') return { kind: 'timeout', afterMs: limits.timeoutMs };
    if (r.kind === 'error') return { kind: 'error', message: r.message };
    if (r.status !== 200) return { kind: 'error', message: `HTTP ${r.status}: ${r.body.slice(0, 300)}` };
    samples.push(r.ms);
  }
  const cpu1 = cpuMs(serve.pid);
  const cpu = cpu0 !== undefined && cpu1 !== undefined && samples.length > 0 ? (cpu1 - cpu0) / samples.length : undefined;
  // A review slower than the budget leaves only the first answer: report it rather than nothing.
  if (samples.length === 0) samples.push(first.ms);
  samples.sort((a, b) => a - b);
  return { kind: 'ok', p50: percentile(samples, 50), p99: percentile(samples, 99), n: samples.length, ...(cpu === undefined ? {} : { cpuMs: cpu }) };
}

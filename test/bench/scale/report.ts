// The scale benchmark's tables: figures per size, then issue 8's targets
// beside the figures with pass/fail. Printed, never asserted: a slow machine
// must not fail a build, a person reads the verdict.
import type { Decision } from './decisions.js';
import type { Measured } from './measure.js';
import type { ActivatorShape } from './state.js';

export type CheckFigure = { kind: 'done'; ms: number; peak: number; ok: boolean; note: string } | { kind: 'timeout'; afterMs: number; peak: number } | { kind: 'skipped' };

export interface SizeResult {
  tenants: number;
  shape: ActivatorShape;
  namespaces: number;
  policies: number;
  objects: number;
  /** Why the size could not be measured (the server did not start), if so. */
  error?: string;
  loadMs: number;
  rssAfterLoad: number;
  /** Highest VmHWM of the serve processes of this size (restarts after timeouts included). */
  peakRss: number;
  decisions: { decision: Decision; result: Measured }[];
  check: CheckFigure;
}

/**
 * issue 8, "What to build" 5 (growth), tightened by issue 17, "No search
 * cliff": AP write p99 ≤ 20 ms, RSS ≤ 500 MiB and `check` ≤ 5 s at 2,000
 * tenants / 10,000 namespaces, on every activator policy shape.
 */
export const TARGETS = { apP99Ms: 20, apGrowth: 3, rssMiB: 500, checkMs: 5000, atTenants: 2000 } as const;

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 1)} s`;
  return `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
}

const fmtMiB = (m: number) => (Number.isFinite(m) ? `${m.toFixed(0)} MiB` : '-');
const num = (n: number) => n.toLocaleString('en-US');

function fmtMeasured(m: Measured | undefined): string {
  if (!m) return '-';
  switch (m.kind) {
    case 'ok':
      return `${fmtMs(m.p50)} / ${fmtMs(m.p99)} (n=${m.n}${m.cpuMs === undefined ? '' : `, CPU ${fmtMs(m.cpuMs)}`})`;
    case 'timeout':
      return `timeout (> ${fmtMs(m.afterMs)})`;
    case 'wrong':
      return `WRONG ANSWER: ${m.message.split('\n')[0]}`;
    case 'budget':
      return `STEP BUDGET REACHED: ${m.message.split('\n')[0]}`;
    case 'error':
      return `error: ${m.message.split('\n')[0]}`;
  }
}

function fmtCheck(c: CheckFigure): string {
  switch (c.kind) {
    case 'done':
      return `${fmtMs(c.ms)}, peak ${fmtMiB(c.peak)}${c.ok ? '' : ` (${c.note})`}`;
    case 'timeout':
      return `timeout (> ${fmtMs(c.afterMs)})`;
    case 'skipped':
      return '-';
  }
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const resultOf = (s: SizeResult, key: Decision['key']) => s.decisions.find((d) => d.decision.key === key)?.result;

export function figuresTable(sizes: SizeResult[]): string {
  const keys: Decision['key'][] = ['ns-create', 'ksvc-create', 'ap-benign', 'ap-cross-tenant'];
  const head = [
    'activator policies',
    'tenants / namespaces / APs',
    'state load',
    'RSS loaded / peak',
    'Namespace CREATE p50 / p99',
    'Knative Service CREATE p50 / p99',
    'AP UPDATE benign p50 / p99',
    'AP UPDATE cross-tenant p50 / p99',
    '`check` of one AP',
  ];
  const rows = sizes.map((s) => [
    s.shape,
    `${num(s.tenants)} / ${num(s.namespaces)} / ${num(s.policies)}`,
    s.error ? `error: ${s.error}` : fmtMs(s.loadMs),
    `${fmtMiB(s.rssAfterLoad)} / ${fmtMiB(s.peakRss)}`,
    ...keys.map((k) => fmtMeasured(resultOf(s, k))),
    fmtCheck(s.check),
  ]);
  return table(head, rows);
}

type Verdict = 'pass' | 'FAIL' | 'n/a';

function apP99(s: SizeResult | undefined, key: Decision['key']): number | undefined {
  const r = s && resultOf(s, key);
  if (!r) return undefined;
  return r.kind === 'ok' ? r.p99 : Infinity;
}

/**
 * The targets at the largest size run (issue 8 sets them for 1,000 tenants;
 * a quick run with fewer says so), growth against the smallest size.
 */
export function targetsTable(all: SizeResult[]): string {
  const shapes = [...new Set(all.map((s) => s.shape))];
  const rows = shapes.flatMap((shape) => targetRows(all.filter((s) => s.shape === shape)).map((r) => [shape, ...r]));
  return table(['activator policies', 'target (issues 8, 17)', 'at', 'figure', ''], rows);
}

function targetRows(sizes: SizeResult[]): string[][] {
  const measured = sizes.filter((s) => !s.error);
  const largest = measured.at(-1);
  // Growth is measured against 10 tenants, as the issue states it, or the smallest size run.
  const smallest = measured.find((s) => s.tenants === 10) ?? measured[0];
  const at = largest ? `${num(largest.tenants)} tenants${largest.tenants === TARGETS.atTenants ? '' : ` (targets are set for ${num(TARGETS.atTenants)})`}` : 'no size measured';
  const rows: string[][] = [];
  const verdict = (ok: boolean | undefined): Verdict => (ok === undefined ? 'n/a' : ok ? 'pass' : 'FAIL');
  for (const key of ['ap-benign', 'ap-cross-tenant'] as const) {
    const label = key === 'ap-benign' ? 'benign' : 'cross-tenant';
    const p99 = apP99(largest, key);
    rows.push([`AP UPDATE (${label}) p99 ≤ ${TARGETS.apP99Ms} ms`, at, p99 === undefined ? '-' : p99 === Infinity ? fmtMeasured(resultOf(largest!, key)) : fmtMs(p99), verdict(p99 === undefined ? undefined : p99 <= TARGETS.apP99Ms)]);
    const base = apP99(smallest, key);
    const growthApplies = largest && smallest && largest !== smallest && p99 !== undefined && base !== undefined && Number.isFinite(base);
    const ratio = growthApplies ? p99! / base! : undefined;
    rows.push([
      `AP UPDATE (${label}) p99 ≤ ${TARGETS.apGrowth}× its ${smallest && smallest !== largest ? num(smallest.tenants) : '10'}-tenant figure`,
      at,
      smallest === largest ? '- (one size run)' : ratio === undefined ? '-' : Number.isFinite(ratio) ? `${ratio.toFixed(1)}× (${fmtMs(base!)} -> ${fmtMs(p99!)})` : 'timeout',
      verdict(ratio === undefined ? undefined : ratio <= TARGETS.apGrowth),
    ]);
  }
  const peak = largest?.peakRss;
  rows.push([`serve peak RSS (VmHWM) ≤ ${TARGETS.rssMiB} MiB`, at, peak === undefined ? '-' : fmtMiB(peak), verdict(peak === undefined || !Number.isFinite(peak) ? undefined : peak <= TARGETS.rssMiB)]);
  const c = largest?.check;
  rows.push([
    `\`check -f <one AP>\` ≤ ${fmtMs(TARGETS.checkMs)} end to end`,
    at,
    c ? fmtCheck(c) : '-',
    verdict(!c || c.kind === 'skipped' ? undefined : c.kind === 'timeout' ? false : c.ok && c.ms <= TARGETS.checkMs),
  ]);
  const budget = measured.flatMap((s) => s.decisions.filter((d) => d.result.kind === 'budget').map((d) => `${num(s.tenants)}: ${d.decision.key}`));
  rows.push(['no decision reaches the step budget', 'every size', budget.length === 0 ? 'none' : budget.join(', '), verdict(measured.length === 0 ? undefined : budget.length === 0)]);
  return rows;
}

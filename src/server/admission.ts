import type { Logger } from 'pino';
import type { ClusterState } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import { applyEnforcement, requestFacts, type EnforcementResult } from '../engine/enforcement.js';
import type { AdmissionInput, Decision } from '../engine/types.js';
import { describeError, isTenantGuardError } from '../errors.js';
import type { ConfigProvider } from './config-provider.js';
import { LOG, MSG } from './log-keys.js';
import type { AdmissionSeries, Endpoint, ServerMetrics } from './metrics.js';
import { allowed, AUDIT_KEYS, denied, errored, outcomeOf, patched, relaxedLabels, review, withRelaxed, type AdmissionResponse, type AdmissionReviewResponse } from './responses.js';
import { isReadable, readEnvelope, readRequest } from './review.js';
import { PATCHED_MARK } from '../engine/decision.js';
import { audienceOf, decisionFor, ENGINE_ERROR_WITHHELD, namesTenantObjects } from '../engine/audience.js';
import { Tenancy } from '../tenancy/tenancy.js';

export type Evaluate = (input: AdmissionInput, state: ClusterState, config: TenancyConfig) => Decision;

/**
 * Which decisions get an info line: `denials` (the default) logs denials,
 * allowed reviews with warnings (other than those announcing the patch) and
 * errors at info and the plain allowed ones at debug; `all` logs every
 * decision at info (full decision log).
 */
export type DecisionLogMode = 'denials' | 'all';

/** What an admission route reads; everything is passed in, nothing is module state. */
export interface AdmissionDeps {
  config: ConfigProvider;
  state: ClusterState;
  evaluate: Evaluate;
  metrics: ServerMetrics;
  series: AdmissionSeries;
  /** The app's logger itself: no child logger is built per request. */
  log: Logger;
  decisionLog: DecisionLogMode;
  /** False while the cluster state is still loading: requests are then refused, not judged on a partial state. */
  stateReady: () => boolean;
  /** Expired exceptions already logged, per config object (each is logged once when it would have matched). */
  expiredLogged?: WeakMap<TenancyConfig, Set<string>>;
  /** The clock of exception expiry (tests pin it). */
  now?: () => number;
  /** Base URL of docs/rules.md: each violation of a denial ends with a link to its rule's section; none when absent. */
  rulesUrl?: string;
}

/** What judging a request leaves for its log line. */
interface Notes {
  enforcement?: EnforcementResult;
  /** The full error when the caller's answer withholds its words. */
  error?: string;
}

/** An HTTP answer: a review (200) or a coded error for a body that is no review (4xx). */
export type AdmissionReply =
  | { statusCode: 200; body: AdmissionReviewResponse }
  | { statusCode: 400; body: { statusCode: 400; code: 'TG_ERR_REVIEW_INVALID'; error: 'Bad Request'; message: string } };

function judge(endpoint: Endpoint, uid: string, input: AdmissionInput, deps: AdmissionDeps, notes: Notes): AdmissionResponse {
  if (!deps.stateReady())
    return errored(uid, 500, 'TG_ERR_CLUSTER: tenant-guard has not finished loading the cluster state; the request is refused until it has (fail closed)');
  let d: Decision;
  try {
    // evaluate() never throws by contract; this guard keeps a broken engine from crashing a request or allowing it.
    const config = deps.config.current();
    d = deps.evaluate(input, deps.state, config);
    // The platform's enforcement (warn/audit/exceptions); a clean decision skips it entirely.
    if (d.violations.length > 0) {
      const state = deps.state;
      const r = applyEnforcement(d, () => requestFacts(input, state, config), config, (deps.now ?? Date.now)(), (c) => deps.evaluate(input, state, c));
      notes.enforcement = r;
      d = r.decision;
      if (r.expired.length > 0) logExpired(deps, config, r.expired);
    }
    // Messages naming another tenant's objects are fitted to the caller; the full ones go to the debug log.
    if (namesTenantObjects(d)) d = forCaller(d, input, deps, config, uid);
  } catch (e) {
    // The exception's words may name any object the engine read: the caller reads them only if it may read everything; the log keeps them.
    const full = `TG_ERR_ENGINE: ${describeError(e)}; the request is denied (fail closed)`;
    notes.error = full;
    return errored(uid, 500, readsEverything(input, deps) ? full : `TG_ERR_ENGINE: ${ENGINE_ERROR_WITHHELD}; the request is denied (fail closed)`);
  }
  if (!d.allowed) return withRelaxed(denied(uid, d.violations, d.warnings, deps.rulesUrl), d.relaxed);
  // /validate runs after every mutating webhook and judges the final object: patches there would be ignored by the API server.
  return withRelaxed(endpoint === 'mutate' ? patched(uid, d.patch, d.warnings) : allowed(uid, d.warnings), d.relaxed);
}

/** Whether the caller is a platform reader (src/engine/audience.ts); when that cannot be told, it is not. */
function readsEverything(input: AdmissionInput, deps: AdmissionDeps): boolean {
  try {
    return audienceOf(new Tenancy(deps.config.current(), deps.state).actor(input.userInfo)).full;
  } catch {
    return false;
  }
}

/** The decision as the caller may read it (src/engine/audience.ts); what was withheld is logged whole at debug. */
function forCaller(d: Decision, input: AdmissionInput, deps: AdmissionDeps, config: TenancyConfig, uid: string): Decision {
  const audience = audienceOf(new Tenancy(config, deps.state).actor(input.userInfo));
  const shown = decisionFor(d, audience);
  // An engine error's words were withheld from the caller: the operator needs them without debug logging on.
  const level = d.violations.some((v) => v.rule === 'TG-ENGINE-ERROR' && v.text) ? 'warn' : 'debug';
  if (shown !== d && deps.log.isLevelEnabled(level)) {
    deps.log[level](
      {
        [LOG.uid]: uid,
        [LOG.user]: input.userInfo.username,
        [LOG.fullMessages]: [...[...d.violations, ...(d.relaxed ?? [])].filter((v) => v.text).map((v) => `[${v.rule}] ${v.message}`), ...(d.warningTexts?.keys() ?? [])],
      },
      MSG.redacted,
    );
  }
  return shown;
}

function logExpired(deps: AdmissionDeps, config: TenancyConfig, names: string[]): void {
  const seen = (deps.expiredLogged ??= new WeakMap()).get(config) ?? new Set<string>();
  deps.expiredLogged.set(config, seen);
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    deps.log.warn({ [LOG.exception]: n }, MSG.exceptionExpired);
  }
}

/**
 * Answer one admission request. Never throws: every failure becomes either a
 * 400 (the body is no AdmissionReview, so there is no uid to answer) or a
 * review with allowed=false and the reason.
 */
export function admit(endpoint: Endpoint, body: unknown, deps: AdmissionDeps, reqId: string): AdmissionReply {
  const started = performance.now();
  let envelope: ReturnType<typeof readEnvelope>;
  try {
    envelope = readEnvelope(body);
  } catch (e) {
    const message = isTenantGuardError(e) ? e.toString() : `TG_ERR_REVIEW_INVALID: ${describeError(e)}`;
    deps.series.record(endpoint, 'unknown', 'unknown', 'invalid');
    deps.log.warn({ reqId, [LOG.endpoint]: endpoint, [LOG.errorCode]: 'TG_ERR_REVIEW_INVALID', [LOG.error]: message }, MSG.reviewInvalid);
    return { statusCode: 400, body: { statusCode: 400, code: 'TG_ERR_REVIEW_INVALID', error: 'Bad Request', message } };
  }
  const { uid } = envelope;
  const read = readRequest(uid, envelope.request);
  let input: AdmissionInput | undefined;
  let response: AdmissionResponse;
  const notes: Notes = {};
  try {
    if (isReadable(read)) {
      input = read.input;
      response = judge(endpoint, uid, input, deps, notes);
    } else {
      response = errored(uid, 400, `TG_ERR_REVIEW_INVALID: ${read.problem}; the request is denied (fail closed)`);
    }
  } catch (e) {
    // Last line of defence: building the response failed (e.g. a patch that cannot be serialised).
    response = errored(uid, 500, `TG_ERR_ENGINE: ${describeError(e)}; the request is denied (fail closed)`);
  }

  const seconds = (performance.now() - started) / 1e3;
  const decision = outcomeOf(response);
  deps.series.record(endpoint, input ? deps.series.kindLabel(input.kind.group, input.kind.kind) : 'unknown', input?.operation ?? 'unknown', decision, seconds);
  const rules = deniedRules(response);
  for (const rule of rules) deps.series.denial(uid, rule);
  const enforced = notes.enforcement;
  if (enforced) for (const o of enforced.outcomes) deps.series.violation(endpoint, o.rule, o.outcome);
  const relaxed = enforced?.decision.relaxed;

  // A plain allowed decision is the common case and says nothing an operator
  // acts on: it goes to debug unless the full decision log is on, and the
  // line is not even built when it would be dropped.
  // A warning that only announces the patch (the SETUID/SETGID drop on most workloads) is as common as the patch itself.
  const warned = response.warnings?.some((w) => !w.includes(PATCHED_MARK));
  const level = decision === 'error' ? 'error' : decision === 'denied' || warned || relaxed || deps.decisionLog === 'all' ? 'info' : 'debug';
  if (!deps.log.isLevelEnabled(level)) return { statusCode: 200, body: review(response) };
  const line: Record<string, unknown> = {
    reqId,
    [LOG.uid]: uid,
    [LOG.endpoint]: endpoint,
    [LOG.kind]: input ? `${input.kind.group ? input.kind.group + '/' : ''}${input.kind.version}/${input.kind.kind}` : undefined,
    [LOG.namespace]: input?.namespace,
    [LOG.name]: input?.name ?? input?.object?.metadata?.name ?? input?.object?.metadata?.generateName,
    [LOG.operation]: input?.operation,
    [LOG.subResource]: input?.subResource,
    [LOG.user]: input?.userInfo.username,
    [LOG.dryRun]: input?.dryRun,
    [LOG.decision]: decision,
    [LOG.rules]: rules,
    [LOG.latencyMs]: Math.round(seconds * 1e6) / 1e3,
  };
  if (response.warnings) line[LOG.warnings] = response.warnings.length;
  if (relaxed) line[LOG.relaxed] = relaxedLabels(relaxed);
  if (decision === 'error') {
    line[LOG.errorCode] = errorCodeOf(response);
    line[LOG.error] = notes.error ?? response.status?.message;
  }
  deps.log[level](line, MSG.decision);
  return { statusCode: 200, body: review(response) };
}

/** Rule ids of a denial, from its audit annotation (the violations themselves are not kept). */
function deniedRules(response: AdmissionResponse): string[] {
  const ids = response.auditAnnotations?.[AUDIT_KEYS.rules];
  return ids ? ids.split(',') : [];
}

/** The coded error an errored response starts with (`TG_ERR_X: ...`). */
function errorCodeOf(response: AdmissionResponse): string | undefined {
  return /^(TG_ERR_[A-Z_]+):/.exec(response.status?.message ?? '')?.[1];
}

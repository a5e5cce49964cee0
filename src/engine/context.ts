import type { ClusterState, GroupKind } from '../cluster/state.js';
import type { TenancyConfig } from '../config/types.js';
import type { Tenancy, Actor } from '../tenancy/tenancy.js';
import type { AdmissionInput, Decision, Operation } from './types.js';

/** What every kind handler gets: the request and everything it may read. */
export interface RuleContext {
  input: AdmissionInput;
  state: ClusterState;
  config: TenancyConfig;
  tenancy: Tenancy;
  actor: Actor;
}

/** A kind handler. May throw on malformed input: the dispatcher turns that into a denial. */
export type KindHandler = (ctx: RuleContext) => Decision;

/** Documentation of one rule; docs/rules.md is generated from these. */
export interface RuleDoc {
  /** Stable id, `TG-<AREA>-<WHAT>`. */
  id: string;
  /** Kinds the rule applies to, e.g. ["serving.knative.dev/Service", "Pod"]. */
  kinds: string[];
  /** One line: what the rule stops. */
  stops: string;
  /** Why: the path it would open, with the Istio/Knative behaviour it relies on. */
  why: string;
  /** Link or reference to the behaviour encoded (Istio docs, Knative code). */
  cite?: string;
  /** Minimal rejected object as YAML (may hold several documents: state first, the rejected object last). */
  example?: string;
  /** Who submits the example (default: alice, tenant-1's admin) and how. */
  exampleAs?: { username: string; groups: string[] };
  exampleOperation?: Operation;
  /** Only a warning, never a denial. */
  warningOnly?: boolean;
}

export interface RuleModule {
  handlers: Record<GroupKind, KindHandler>;
  rules: RuleDoc[];
}

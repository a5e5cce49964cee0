import { setTimeout as sleep } from 'node:timers/promises';

export interface ShutdownSteps {
  /** Fail readiness now; the endpoints controller removes the pod from the Service. */
  stopReadiness(): void;
  /** Stop accepting connections and wait for in-flight requests. */
  closeListener(): Promise<void>;
  /** Cut connections still open after the grace period. */
  forceClose(): void;
  /** Release the rest (watchers, informers). */
  release(): Promise<void>;
  log(event: 'draining' | 'closing' | 'done', detail?: Record<string, unknown>): void;
}

/**
 * The shutdown order a Kubernetes webhook needs: readiness fails first; after
 * `delayMs` (the time for kube-proxy/endpoints to stop routing new
 * connections here: a pod's removal from a Service is asynchronous to
 * SIGTERM, see https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination)
 * the listener closes while in-flight reviews finish; after `graceMs` more,
 * what is left is cut. Returns a function that runs the sequence once,
 * however often it is called.
 */
export function shutdownSequence(steps: ShutdownSteps, delayMs: number, graceMs: number): (reason: string) => Promise<void> {
  let running: Promise<void> | undefined;
  return (reason) => {
    running ??= (async () => {
      steps.stopReadiness();
      steps.log('draining', { reason, delayMs });
      if (delayMs > 0) await sleep(delayMs);
      steps.log('closing');
      const force = setTimeout(() => steps.forceClose(), graceMs);
      force.unref();
      try {
        await steps.closeListener();
      } finally {
        clearTimeout(force);
        await steps.release();
      }
      steps.log('done');
    })();
    return running;
  };
}

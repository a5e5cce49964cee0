/**
 * How a message names a container. Knative lets a Service's container go
 * unnamed and names it at revision time from config-defaults'
 * container-name-template, "user-container" by default
 * (knative.dev/serving pkg/apis/serving/v1/revision_defaults.go,
 * applyDefaultContainerNames); Kubernetes requires names everywhere else.
 * An unnamed container is named by its place, never as `Container ""`.
 */
export function containerLabel(name: unknown, list: string, index: number): string {
  if (typeof name === 'string' && name !== '') return `Container "${name}"`;
  return `The unnamed container ${list}[${index}] (Knative names it "user-container")`;
}

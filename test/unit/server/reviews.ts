import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Level, Logger } from 'pino';
import { createLogger } from '../../../src/server/logger.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { AdmissionInput, KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';

export const ALICE: UserInfo = { username: 'alice', groups: ['tenant-1-admins', 'system:authenticated'] };
export const BOB: UserInfo = { username: 'bob', groups: ['tenant-2-admins', 'system:authenticated'] };
export const PLATFORM_ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The AdmissionInput the API server would build for writing `object` as `user`. */
export function inputFor(object: KubeObject, user: UserInfo, operation: Operation = 'CREATE', oldObject?: KubeObject): AdmissionInput {
  const subject = object ?? oldObject;
  const { group, version } = splitApiVersion(subject.apiVersion);
  const input: AdmissionInput = {
    operation,
    kind: { group, version, kind: subject.kind },
    userInfo: user,
    dryRun: false,
  };
  if (subject.metadata.namespace) input.namespace = subject.metadata.namespace;
  if (subject.metadata.name) input.name = subject.metadata.name;
  if (operation !== 'DELETE') input.object = object;
  if (oldObject) input.oldObject = oldObject;
  return input;
}

/** An admission.k8s.io/v1 AdmissionReview carrying `input`, as the API server sends it. */
export function reviewOf(input: AdmissionInput, uid: string = randomUUID()): Record<string, unknown> {
  const request: Record<string, unknown> = {
    uid,
    kind: input.kind,
    resource: { group: input.kind.group, version: input.kind.version, resource: `${input.kind.kind.toLowerCase()}s` },
    requestKind: input.kind,
    operation: input.operation,
    userInfo: { username: input.userInfo.username, uid: 'u-1', groups: input.userInfo.groups },
    object: input.object ?? null,
    oldObject: input.oldObject ?? null,
    dryRun: input.dryRun,
    options: { apiVersion: 'meta.k8s.io/v1', kind: input.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
  };
  if (input.namespace) request.namespace = input.namespace;
  if (input.name) request.name = input.name;
  if (input.subResource) request.subResource = input.subResource;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** The namespaces of the reference setup: tenants with sidecar injection, and the shared system namespaces. */
export function referenceNamespaces(): MemoryStore {
  const s = new MemoryStore();
  for (const t of ['tenant-1', 'tenant-2']) s.upsert(namespace(t, { 'istio-injection': 'enabled', 'kubernetes.io/metadata.name': t }));
  for (const n of ['knative-serving', 'istio-system']) s.upsert(namespace(n, { 'kubernetes.io/metadata.name': n }));
  return s;
}

/** The serve command's logger, its JSON lines kept for assertions. */
export function capturingLogger(level: Level = 'info'): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger(level, dest);
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A Knative Service as a tenant writes it. */
export function knativeService(ns: string, name: string, templateAnnotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      template: {
        metadata: { annotations: templateAnnotations },
        spec: { containers: [{ image: 'ghcr.io/knative/helloworld-go:latest', ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

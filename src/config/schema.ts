// JSON schema of the tenancy config. Defaults live here, so a config file
// states only what differs from the reference setup.

const subjects = {
  type: 'object',
  additionalProperties: false,
  properties: {
    users: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    groups: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
  },
  default: {},
} as const;

// RFC 1123 label, the shape of a namespace name.
const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' } as const;

// A kept object of the baseline; `name` is a Kubernetes object name (DNS subdomain).
const baselineObject = (name: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', default: true },
      name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?$', default: name },
    },
    default: {},
  }) as const;

const baseline = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // Off in a plain config: the open-window rule would refuse workloads in
    // every namespace nothing closes. The chart turns it on with the controllers.
    enabled: { type: 'boolean', default: false },
    // DNS suffix of Services: the activator policy admits Hosts *.<namespace>.svc.<clusterDomain>.
    clusterDomain: { type: 'string', minLength: 1, default: 'cluster.local' },
    peerAuthentication: baselineObject('tenant-guard-strict'),
    authorizationPolicy: baselineObject('tenant-guard-allow-tenant'),
    activatorPolicy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...baselineObject('tenant-guard-activator-').properties,
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,100})?$', default: 'tenant-guard-activator-' },
        namespace: { ...dnsLabel, default: 'knative-serving' },
        selector: {
          type: 'object',
          additionalProperties: { type: 'string' },
          minProperties: 1,
          default: { app: 'activator' },
        },
      },
      default: {},
    },
    activatorHeaderPin: {
      ...baselineObject('tenant-guard-pin-activator-'),
      properties: { ...baselineObject('tenant-guard-pin-activator-').properties, name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,100})?$', default: 'tenant-guard-pin-activator-' } },
    },
    platformActivatorPolicy: baselineObject('tenant-guard-platform-activator'),
    gatewayPolicy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...baselineObject('tenant-guard-gateway-').properties,
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,100})?$', default: 'tenant-guard-gateway-' },
        // istio-ingressgateway serves knative-local-gateway in a default net-istio install. Its
        // selector names app too: a key the activator is known to carry with another value, so the
        // model never takes the gateway's policies for the activator's (docs/authorization-policy.md).
        namespace: { ...dnsLabel, default: 'istio-system' },
        selector: {
          type: 'object',
          additionalProperties: { type: 'string' },
          minProperties: 1,
          default: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
        },
        // net-istio's knative-local-gateway Gateway listens on 8081 (config/700-istio-gateway.yaml).
        localPorts: { type: 'array', items: { type: 'string', pattern: '^[0-9]{1,5}$' }, minItems: 1, default: ['8081'] },
      },
      default: {},
    },
    gatewayFence: {
      ...baselineObject('tenant-guard-fence-gateway-'),
      properties: { ...baselineObject('tenant-guard-fence-gateway-').properties, name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,100})?$', default: 'tenant-guard-fence-gateway-' } },
    },
    platformGatewayPolicy: baselineObject('tenant-guard-platform-gateway'),
  },
  default: {},
} as const;

// IPv4 or IPv6 CIDR; the exact form is checked when loaded (src/config/load.ts).
const cidr = { type: 'string', pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' } as const;

// Rule ids are checked against the engine's catalog when loaded (load.ts).
const ruleRef = { type: 'string', pattern: '^(\\*|TG-[A-Z0-9-]*\\*?)$' } as const;
const action = { enum: ['deny', 'warn', 'audit'] } as const;
const nonEmptyList = (items: object) => ({ type: 'array', items, minItems: 1 }) as const;
const labelKey = { type: 'string', minLength: 1, maxLength: 317 } as const;

const enforcement = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    // deny: a fresh install refuses every violation, as before enforcement existed.
    action: { ...action, default: 'deny' },
    overrides: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['rules', 'action'],
        properties: {
          rules: nonEmptyList(ruleRef),
          tenants: nonEmptyList(dnsLabel),
          namespaces: nonEmptyList(dnsLabel),
          action,
        },
      },
    },
  },
} as const;

const exceptions = {
  type: 'array',
  default: [],
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['rules', 'reason', 'expires'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 253 },
      rules: nonEmptyList(ruleRef),
      tenants: nonEmptyList(dnsLabel),
      namespaces: nonEmptyList(dnsLabel),
      kinds: nonEmptyList({ type: 'string', pattern: '^([a-z0-9.-]+/)?[A-Z][A-Za-z0-9]*$' }),
      names: nonEmptyList({ type: 'string', minLength: 1, maxLength: 253 }),
      selector: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          matchLabels: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: labelKey },
          matchExpressions: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['key', 'operator'],
              properties: {
                key: labelKey,
                operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
                values: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      },
      path: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: { from: dnsLabel, to: dnsLabel },
      },
      reason: { type: 'string', minLength: 1 },
      // A date (valid through that day, UTC) or an RFC 3339 time; parsed when loaded.
      expires: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9:.]+([Zz]|[+-][0-9]{2}:[0-9]{2}))?$' },
    },
  },
} as const;

export const tenancyConfigSchema = {
  $id: 'https://tenant-guard.dev/schemas/tenancy-config.json',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion: { const: 'tenant-guard.dev/v1alpha1' },
    kind: { const: 'TenancyConfig' },
    tenantLabel: { type: 'string', minLength: 1, default: 'tenant-guard.dev/tenant' },
    systemNamespaces: { type: 'array', items: dnsLabel, default: ['knative-serving', 'istio-system'] },
    meshRootNamespace: { ...dnsLabel, default: 'istio-system' },
    drainPorts: {
      type: 'array',
      items: { type: 'string', pattern: '^[0-9]{1,5}$' },
      default: ['8022'],
    },
    trustDomain: { type: 'string', minLength: 1, default: 'cluster.local' },
    platformAdmins: { ...subjects, default: { users: [], groups: ['system:masters'] } },
    platformControllers: {
      ...subjects,
      default: {
        users: ['system:kube-controller-manager', 'system:kube-scheduler'],
        groups: [
          'system:serviceaccounts:knative-serving',
          'system:serviceaccounts:istio-system',
          'system:serviceaccounts:kube-system',
        ],
      },
    },
    tenants: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: dnsLabel,
          admins: subjects,
          namespaces: { type: 'array', items: dnsLabel, default: [] },
          revision: { type: 'string', minLength: 1 },
        },
      },
    },
    // Empty: not configured (private ranges are treated as possibly in-cluster).
    clusterNetwork: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        serviceCIDRs: { type: 'array', items: cidr, default: [] },
        podCIDRs: { type: 'array', items: cidr, default: [] },
        nodeCIDRs: { type: 'array', items: cidr, default: [] },
      },
    },
    rootContainers: { enum: ['drop', 'deny'], default: 'drop' },
    // Facts of the Istio install the model cannot read from the cluster's objects.
    istio: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // istiod's ISTIO_GATEWAY_STRIP_HOST_PORT: off by default in Istio, so the model assumes off.
        gatewayStripHostPort: { type: 'boolean', default: false },
      },
    },
    // Proxies every tenant reaches that forward with their own identity,
    // besides the activator and knative-local-gateway (always modelled).
    sharedHops: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'namespace', 'labels', 'serviceAccount', 'ports'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 253 },
          namespace: dnsLabel,
          labels: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' }, propertyNames: { minLength: 1, maxLength: 317 } },
          serviceAccount: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$' },
          ports: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[0-9]{1,5}$' } },
          routesBy: { enum: ['any', 'host'], default: 'any' },
          acceptsPlaintext: { type: 'boolean', default: true },
          sidecar: { type: 'boolean', default: false },
        },
      },
    },
    // Namespaces only platform admins may create or label, besides those the
    // config trusts by name (src/engine/reserved-names.ts); the chart adds its excluded ones.
    reservedNamespaces: { type: 'array', items: dnsLabel, default: [] },
    peerings: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: { from: dnsLabel, to: dnsLabel },
      },
    },
    baseline,
    enforcement,
    exceptions,
  },
} as const;

/**
 * deploy/'s Kubernetes manifests and compose file against their formats as npm packages describe
 * them (deploySchemas.ts says how), offline: kubernetes-models for the built-in kinds,
 * @kubernetes-models/keda for ScaledObject and TriggerAuthentication (each the package's
 * validate() and a type check against its interfaces, which rejects unknown fields), and the
 * compose-spec schema shipped in dclint for compose.yml. Every document must have a model and
 * pass it; broken copies of each must fail, naming the field. What the packages cannot say is
 * checked beside them: KEDA's rule minReplicaCount <= maxReplicaCount, and the Redis Lists
 * scaler's parameter names (KEDA types trigger metadata as a map of strings).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../support/spawn';
import { type K8sCheck, type K8sModel, check, checkKubernetes, composeValidator, modelOf } from './deploySchemas';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, mutated by the broken-copy cases
type Y = any;

const K8S = path.join(PROJECT_ROOT, 'deploy', 'k8s');
const manifests = fs
  .readdirSync(K8S)
  .filter(f => /\.ya?ml$/.test(f))
  .sort();
const docsOf = (f: string): Y[] => parseAllDocuments(fs.readFileSync(path.join(K8S, f), 'utf8')).map(d => d.toJS() as Y);
const all = manifests.flatMap(f => docsOf(f).map(doc => ({ file: f, doc })));
const byKind = (kind: string): Y => {
  const found = all.find(x => x.doc['kind'] === kind);
  if (!found) throw new Error(`no ${kind} in deploy/k8s`);
  return structuredClone(found.doc);
};
const compose = (): Y => parse(fs.readFileSync(path.join(PROJECT_ROOT, 'deploy', 'compose.yml'), 'utf8'));

function modelFor(doc: Y): K8sModel {
  const m = modelOf(doc['apiVersion'], doc['kind']);
  if (!m) throw new Error(`deploySchemas.ts has no model for ${doc['apiVersion']} ${doc['kind']}`);
  return m;
}

// Each broken copy must fail, and for the reason made: its error names the field broken.
const broken: Array<[string, string, (d: Y) => void, RegExp]> = [
  [
    'an unknown field (a misspelt terminationGracePeriodSeconds)',
    'Deployment',
    d => {
      const s = d.spec.template.spec;
      s.terminationGracePeriodSecond = s.terminationGracePeriodSeconds;
      delete s.terminationGracePeriodSeconds;
    },
    /^\/spec\/template\/spec\/terminationGracePeriodSecond: Object literal may only specify known properties, and '"terminationGracePeriodSecond"' does not exist in type 'IPodSpec'/,
  ],
  [
    'a port given as a string',
    'Deployment',
    d => (d.spec.template.spec.containers[0].ports[0].containerPort = '9394'),
    /^\/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort: must be integer$/,
  ],
  [
    'a container without its name',
    'Deployment',
    d => delete d.spec.template.spec.containers[0].name,
    /^\/spec\/template\/spec\/containers\/0: must have required property name$/,
  ],
  ['replicas past int32', 'Deployment', d => (d.spec.replicas = 2 ** 31), /^\/spec\/replicas: must match format "int32"$/],
  [
    'a probe on an unknown handler',
    'Deployment',
    d => (d.spec.template.spec.containers[0].readinessProbe.http = { path: '/readyz' }),
    /^\/spec\/template\/spec\/containers\/0\/readinessProbe\/http: Object literal may only specify known properties, and '"http"' does not exist in type 'IProbe'/,
  ],
  [
    'an unknown field in a volume mount',
    'Deployment',
    d => (d.spec.template.spec.containers[0].volumeMounts[0].readonly = true),
    /^\/spec\/template\/spec\/containers\/0\/volumeMounts\/0\/readonly: Object literal may only specify known properties/,
  ],
  ['a ConfigMap value that is not a string', 'ConfigMap', d => (d.data['resque-pool.yml'] = 2), /^\/data\/resque-pool\.yml: must be string$/],
  ['a replica count given as a string', 'ScaledObject', d => (d.spec.minReplicaCount = '1'), /^\/spec\/minReplicaCount: must be integer$/],
  ['a trigger without its type', 'ScaledObject', d => delete d.spec.triggers[0].type, /^\/spec\/triggers\/0: must have required property type$/],
  [
    'an unknown spec field',
    'ScaledObject',
    d => (d.spec.pollInterval = 15),
    /^\/spec\/pollInterval: Object literal may only specify known properties, and '"pollInterval"' does not exist in type 'IScaledObjectSpec'/,
  ],
  [
    'an authenticationRef without its name',
    'ScaledObject',
    d => delete d.spec.triggers[0].authenticationRef.name,
    /^\/spec\/triggers\/0\/authenticationRef: must have required property name$/,
  ],
  [
    'a trigger metadata value that is not a string',
    'ScaledObject',
    d => (d.spec.triggers[0].metadata.listLength = 20),
    /^\/spec\/triggers\/0\/metadata\/listLength: must be string$/,
  ],
  ['an apiVersion KEDA does not serve', 'ScaledObject', d => (d.apiVersion = 'keda.sh/v1'), /^\/apiVersion: must be equal to one of the allowed values$/],
  ['a name that is not a string (ObjectMeta)', 'ScaledObject', d => (d.metadata.name = 5), /^\/metadata\/name: must be string$/],
  [
    'an unknown ObjectMeta field',
    'ScaledObject',
    d => (d.metadata.label = { app: 'pyres-ts' }),
    /^\/metadata\/label: Object literal may only specify known properties, and '"label"' does not exist in type 'IObjectMeta'/,
  ],
  [
    'a secretTargetRef without its key',
    'TriggerAuthentication',
    d => delete d.spec.secretTargetRef[0].key,
    /^\/spec\/secretTargetRef\/0: must have required property key$/,
  ],
  [
    'an unknown TriggerAuthentication spec field',
    'TriggerAuthentication',
    d => (d.spec.secretTargetRefs = d.spec.secretTargetRef),
    /^\/spec\/secretTargetRefs: Object literal may only specify known properties/,
  ],
];

// One validator process and one type-check program for every document and broken copy (each
// costs seconds); the cases below read their results.
let results: Map<Y, string[]>;
const brokenDocs = new Map<string, Y>();

beforeAll(() => {
  const items: K8sCheck[] = all.map(({ doc }) => ({ model: modelFor(doc), doc }));
  for (const [what, kind, mutate] of broken) {
    const doc = byKind(kind);
    // The model of the kind as deploy/ declares it (the apiVersion case breaks the declaration).
    const m = modelFor(doc);
    mutate(doc);
    brokenDocs.set(what, doc);
    items.push({ model: m, doc });
  }
  const errors = checkKubernetes(items);
  results = new Map(items.map((it, i) => [it.doc, errors[i]!]));
}, 120_000);

describe('deploy/k8s against kubernetes-models and @kubernetes-models/keda', () => {
  it('deploy/k8s has the kinds this test knows, each with its model', () => {
    expect(manifests).toEqual(['deployment.yaml', 'keda-scaledobject.yaml']);
    expect(all.map(x => `${x.file}: ${x.doc['apiVersion']} ${x.doc['kind']}`)).toEqual([
      'deployment.yaml: v1 ConfigMap',
      'deployment.yaml: apps/v1 Deployment',
      'keda-scaledobject.yaml: keda.sh/v1alpha1 TriggerAuthentication',
      'keda-scaledobject.yaml: keda.sh/v1alpha1 ScaledObject',
    ]);
    for (const { doc } of all)
      expect({ kind: doc['kind'], model: modelOf(doc['apiVersion'], doc['kind']) !== undefined }).toEqual({ kind: doc['kind'], model: true });
  });

  it.each(all.map(x => [`${x.file}: ${x.doc['kind']} ${x.doc['metadata']?.['name']}`, x.doc]))('%s is valid', (_name, doc) => {
    expect(results.get(doc)).toEqual([]);
  });

  it.each(broken)('a broken copy fails: %s (%s)', (what, _kind, _mutate, expected) => {
    const errors = results.get(brokenDocs.get(what))!;
    expect({ errors, named: errors.some(e => expected.test(e)) }).toEqual({ errors, named: true });
  });
});

describe('KEDA: what the packages cannot say', () => {
  // KEDA's documented rule for a ScaledObject (its admission webhook and CRD reject the object
  // otherwise): minReplicaCount may not exceed maxReplicaCount, whose default is 100. The
  // packages' validators, built from KEDA's API types, do not carry it.
  const minWithinMax = (spec: Y): boolean => spec.minReplicaCount === undefined || spec.minReplicaCount <= (spec.maxReplicaCount ?? 100);

  it('minReplicaCount <= maxReplicaCount holds (and fails on a broken copy)', () => {
    const so = byKind('ScaledObject');
    expect(minWithinMax(so.spec)).toBe(true);
    so.spec.minReplicaCount = so.spec.maxReplicaCount + 1;
    expect(minWithinMax(so.spec)).toBe(false);
    delete so.spec.maxReplicaCount;
    so.spec.minReplicaCount = 101;
    expect(minWithinMax(so.spec)).toBe(false);
  });

  // The Redis Lists scaler's parameters as KEDA documents them (its scaler page: the trigger's
  // metadata, including the cluster and sentinel variants' keys, and the parameters a
  // TriggerAuthentication may give). The model types trigger metadata as a map of strings, so
  // a misspelt key (`listname`) would pass the validators above.
  const triggerMetadata = new Set([
    'address',
    'addresses',
    'host',
    'hosts',
    'port',
    'ports',
    'username',
    'password',
    'sentinelUsername',
    'sentinelPassword',
    'sentinelMaster',
    'listName',
    'listLength',
    'activationListLength',
    'databaseIndex',
    'enableTLS',
    'unsafeSsl',
  ]);
  const authParams = new Set([
    'address',
    'addresses',
    'host',
    'hosts',
    'port',
    'ports',
    'username',
    'password',
    'sentinelUsername',
    'sentinelPassword',
    'sentinelMaster',
    'tls',
    'ca',
    'cert',
    'key',
    'keyPassword',
  ]);

  it("the redis triggers' metadata and the TriggerAuthentication's parameters are names the Redis Lists scaler reads", () => {
    const so = byKind('ScaledObject');
    const keys = so.spec.triggers.flatMap((t: Y) => Object.keys(t.metadata));
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k: string) => !triggerMetadata.has(k))).toEqual([]);
    const params = byKind('TriggerAuthentication').spec.secretTargetRef.map((r: Y) => r.parameter);
    expect(params.filter((p: string) => !authParams.has(p))).toEqual([]);
    expect(triggerMetadata.has('listname')).toBe(false);
  });
});

describe('deploy/compose.yml against the compose-spec schema', () => {
  it('is valid', () => {
    expect(check(composeValidator(), compose())).toEqual([]);
  });

  const brokenCompose: Array<[string, (d: Y) => void, RegExp]> = [
    [
      'a misspelt service key',
      d => (d.services.master.commands = d.services.master.command),
      /^\/services\/master: must NOT have additional properties \(commands\)$/,
    ],
    [
      'a depends_on condition compose does not have',
      d => (d.services.web.depends_on.redis.condition = 'healthy'),
      /^\/services\/web\/depends_on\/redis\/condition: must be equal to one of the allowed values$/,
    ],
    ['a top-level key compose does not have', d => (d.service = {}), /^\/: must NOT have additional properties \(service\)$/],
    [
      'a healthcheck key compose does not have',
      d => (d.services.redis.healthcheck.retry = 3),
      /^\/services\/redis\/healthcheck: must NOT have additional properties \(retry\)$/,
    ],
  ];
  it.each(brokenCompose)('a broken copy fails: %s', (_what, mutate, expected) => {
    const doc = compose();
    mutate(doc);
    const errors = check(composeValidator(), doc);
    expect({ errors, named: errors.some(e => expected.test(e)) }).toEqual({ errors, named: true });
  });
});

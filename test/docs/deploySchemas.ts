/**
 * The deployment files' formats as npm packages describe them, checked offline:
 *
 * - Kubernetes' built-in kinds: kubernetes-models (its classes' validate(), ajv code the package
 *   compiled from Kubernetes' OpenAPI document: types, required fields, enums, int32/int64 and
 *   the other formats). KEDA's kinds: @kubernetes-models/keda, the same for KEDA's API types;
 *   its `metadata` is Kubernetes' ObjectMeta, checked by the same validator as the built-in kinds'.
 * - Unknown fields: the packages' compiled validators leave objects open (the OpenAPI document
 *   does not close them), so the strict part, what `kubectl apply --validate=strict` and the API
 *   server's strict field validation reject, comes from the packages' TypeScript interfaces:
 *   each document is type-checked as an object literal of its kind's interface (IDeployment,
 *   IScaledObject...), where TypeScript rejects a property the interface does not declare, at
 *   any depth, as well as a missing required one or a wrong type.
 * - Compose: the compose-spec JSON schema shipped in the dclint package (schemas/compose.schema.json),
 *   compiled with ajv in strict mode (a keyword ajv does not know is an error, not ignored).
 *
 * Errors come back as `path: message` lines, the path a JSON pointer into the document.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as ts from 'typescript';
import { PROJECT_ROOT } from '../support/spawn';

/** Where a kind's model lives: the module, its class (validate()) and its interface (the type check). */
export interface K8sModel {
  module: string;
  name: string;
  iface: string;
}

const model = (module: string, name: string): K8sModel => ({ module: `${module}/${name}`, name, iface: `I${name}` });

/** The kinds deploy/k8s uses, by `apiVersion kind`. A document of another kind has no model and fails the test. */
export const K8S_MODELS: Record<string, K8sModel> = {
  'v1 ConfigMap': model('kubernetes-models/v1', 'ConfigMap'),
  'apps/v1 Deployment': model('kubernetes-models/apps/v1', 'Deployment'),
  'keda.sh/v1alpha1 ScaledObject': model('@kubernetes-models/keda/keda.sh/v1alpha1', 'ScaledObject'),
  'keda.sh/v1alpha1 TriggerAuthentication': model('@kubernetes-models/keda/keda.sh/v1alpha1', 'TriggerAuthentication'),
};

export const modelOf = (apiVersion: string, kind: string): K8sModel | undefined => K8S_MODELS[`${apiVersion} ${kind}`];

export interface K8sCheck {
  model: K8sModel;
  doc: unknown;
}

/** The packages' validate() on each document (one node process for all), as error lines. */
export function validateModels(items: K8sCheck[]): string[][] {
  const input = JSON.stringify(items.map(({ model: m, doc }) => ({ module: m.module, name: m.name, doc })));
  const r = spawnSync(process.execPath, [path.join(__dirname, 'k8sModels.mjs')], { cwd: PROJECT_ROOT, input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`k8sModels.mjs exited ${r.status ?? r.signal}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as ErrorObject[][];
  return out.map(errorLines);
}

/**
 * Each document type-checked as a literal of its kind's interface (one program for all, a virtual
 * module beside this file so the packages resolve from the project's node_modules), as error lines.
 */
export function typeCheckModels(items: K8sCheck[]): string[][] {
  const file = path.join(__dirname, '__deploy_manifests__.mts');
  const imports = [...new Map(items.map(({ model: m }) => [m.iface, m])).values()].map(m => `import type { ${m.iface} } from '${m.module}';`);
  const decls = items.map(({ model: m, doc }, i) => `export const doc${i}: ${m.iface} = ${JSON.stringify(doc, null, 1)};`);
  const source = [...imports, ...decls].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang, true) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = name => name === file || fileExists.call(host, name);
  host.readFile = name => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const sf = program.getSourceFile(file)!;
  const out: string[][] = items.map(() => []);
  const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    const at = d.start === undefined ? undefined : pointerAt(sf, d.start);
    // A diagnostic outside a document (an import the packages do not resolve) fails every one.
    if (!at) for (const lines of out) lines.push(`(module): ${message}`);
    else out[at.doc]!.push(`${at.pointer}: ${message}`);
  }
  return out;
}

/** The document index and the JSON pointer of the literal at `pos` in the generated module. */
function pointerAt(sf: ts.SourceFile, pos: number): { doc: number; pointer: string } | undefined {
  let node: ts.Node = sf;
  for (;;) {
    const child: ts.Node | undefined = node.getChildren(sf).find(c => c.getStart(sf) <= pos && pos < c.getEnd());
    if (!child) break;
    node = child;
  }
  const parts: string[] = [];
  for (let n: ts.Node = node; n.parent; n = n.parent) {
    const p = n.parent;
    if (ts.isPropertyAssignment(p) && (n === p.name || n === p.initializer)) parts.unshift(escapePointer((p.name as ts.StringLiteral).text));
    else if (ts.isArrayLiteralExpression(p)) {
      const i = p.elements.indexOf(n as ts.Expression);
      if (i >= 0) parts.unshift(String(i));
    } else if (ts.isVariableDeclaration(p)) {
      const m = /^doc(\d+)$/.exec(p.name.getText(sf));
      return m ? { doc: Number(m[1]), pointer: parts.length ? `/${parts.join('/')}` : '/' } : undefined;
    }
  }
  return undefined;
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Both checks of a batch of Kubernetes documents: the error lines of each, the validator's then the type checker's. */
export function checkKubernetes(items: K8sCheck[]): string[][] {
  const validated = validateModels(items);
  const typed = typeCheckModels(items);
  return items.map((_, i) => [...validated[i]!, ...typed[i]!]);
}

/** The compose-spec schema as the dclint package ships it. */
export const COMPOSE_SCHEMA = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');

let compose: ValidateFunction | undefined;

export function composeValidator(): ValidateFunction {
  if (compose) return compose;
  // strictTypes/strictTuples judge how a schema is written (the published one is not ours to
  // restyle); strictSchema, which rejects unknown keywords and formats, stays on.
  const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
  // The schema names its meta-schema "https://json-schema.org/draft-07/schema" (no "#"); ajv
  // knows draft-07 as "http://json-schema.org/draft-07/schema": the same document, aliased.
  const draft7 = JSON.parse(fs.readFileSync(require.resolve('ajv/dist/refs/json-schema-draft-07.json'), 'utf8'));
  ajv.addMetaSchema({ ...draft7, $id: 'https://json-schema.org/draft-07/schema' });
  compose = ajv.compile(JSON.parse(fs.readFileSync(COMPOSE_SCHEMA, 'utf8')));
  return compose;
}

/** ajv's errors as short `path: message` lines (empty when valid). */
export function errorLines(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(
    e =>
      `${e.instancePath || '/'}: ${e.message}${e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`,
  );
}

/** Validates, returning the error lines (empty when valid). */
export function check(validate: ValidateFunction, doc: unknown): string[] {
  return validate(doc) ? [] : errorLines(validate.errors);
}

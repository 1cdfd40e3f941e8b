// Runs the validate() of kubernetes-models / @kubernetes-models/keda on documents read as JSON
// from stdin, printing each one's ajv errors as JSON. A separate node process because the
// packages are ES modules only, which jest's CommonJS runtime cannot load.
// stdin: [{ module, name, doc }]; stdout: [errors[]] in the same order.
import { text } from 'node:stream/consumers';

const items = JSON.parse(await text(process.stdin));
const out = [];
for (const { module, name, doc } of items) {
  const Model = (await import(module))[name];
  try {
    new Model(doc).validate();
    out.push([]);
  } catch (err) {
    if (!Array.isArray(err.errors)) throw err;
    out.push(err.errors.map(e => ({ instancePath: e.instancePath, keyword: e.keyword, message: e.message, params: e.params })));
  }
}
process.stdout.write(JSON.stringify(out));

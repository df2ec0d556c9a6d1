// How every YAML file of a bundle (fleet.yaml, manifests, kustomize inputs) is read: one set of
// parse options and one error message.
import { parseAllDocuments, parseDocument } from 'yaml';

/** A duplicate key is an error, as in Kubernetes and Fleet (sigs.k8s.io/yaml is strict). */
const OPTIONS = { uniqueKeys: true } as const;

/**
 * The documents of a YAML text as plain values (null for an empty document). A syntax error
 * (or, with `single`, a second document) throws what `fail` makes of the message
 * `<file> line <n>: invalid YAML: <reason>`.
 */
export function readYaml(
  text: string,
  file: string,
  opts: { maxAliasCount: number; single?: boolean; fail: (message: string) => Error },
): unknown[] {
  const docs = opts.single
    ? [parseDocument(text, OPTIONS)]
    : (parseAllDocuments(text, OPTIONS) as ReturnType<typeof parseDocument>[]);
  const values: unknown[] = [];
  for (const doc of Array.isArray(docs) ? docs : []) {
    const [error] = doc.errors;
    if (error !== undefined) {
      const line = error.linePos?.[0].line;
      const reason = (error.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      throw opts.fail(
        `${file}${line === undefined ? '' : ` line ${line}`}: invalid YAML: ${reason}`,
      );
    }
    values.push(doc.toJS({ maxAliasCount: opts.maxAliasCount }));
  }
  return values;
}

/** Where a bundle problem was found: the bundle's name and/or a file path relative to the repo. */
export interface BundleErrorContext {
  bundle?: string;
  path?: string;
  /** The bundle's directory (relative to the repo root), when the bundle is known. */
  dir?: string;
  /** The bundle's kind (`yaml`, `kustomize`, `helm`) as far as its files tell. */
  kind?: string;
}

/**
 * A problem with one bundle: a malformed fleet.yaml, a manifest that does not parse, a path
 * escaping the bundle, a failed kustomize/helm run. The message names the file (and field or
 * line) where possible; `bundle` and `path` carry the same information for programs.
 */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  /** The bundle's name (`<gitrepo>/<dir>`), when known. */
  readonly bundle: string | undefined;
  /** The file or directory (relative to the repo root) the problem is in, when known. */
  readonly path: string | undefined;
  /** The bundle's directory (relative to the repo root), when known. */
  readonly dir: string | undefined;
  /** The bundle's kind as far as its files tell (a failed bundle keeps its real kind). */
  readonly kind: string | undefined;

  constructor(message: string, context: BundleErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.bundle = context.bundle;
    this.path = context.path;
    this.dir = context.dir;
    this.kind = context.kind;
  }
}

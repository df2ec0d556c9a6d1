/** Where a bundle problem was found: the bundle's name and/or a file path relative to the repo. */
export interface BundleErrorContext {
  bundle?: string;
  path?: string;
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

  constructor(message: string, context: BundleErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.bundle = context.bundle;
    this.path = context.path;
  }
}

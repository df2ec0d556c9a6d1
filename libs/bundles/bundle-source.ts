// A bundle as discovery hands it to planning, confinement checks and rendering; its own module so
// that those can name it without importing discovery (which uses them).
import type { FleetYaml } from './fleet-yaml.js';

/** How a bundle is rendered. */
export type BundleKind = 'yaml' | 'kustomize' | 'helm';

/** A bundle found in a GitRepo, ready to be planned and rendered. */
export interface BundleSource {
  /** `<gitrepo>/<dir relative to the GitRepo's paths>` (see `bundleName`). */
  name: string;
  /** The bundle's directory, relative to the repo root ('' for the root). */
  dir: string;
  kind: BundleKind;
  /** The validated fleet.yaml (all defaults when the bundle has none). */
  fleet: FleetYaml;
  /** Every file the bundle owns, relative to the repo root, sorted. */
  files: string[];
  /**
   * The `${cluster.…}` references in its files (`cluster.name`, `cluster.labels.KEY`, sorted),
   * only when `fleet.substitute` is true; empty otherwise.
   */
  references: string[];
}

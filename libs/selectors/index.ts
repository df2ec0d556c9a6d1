// Label selectors and Kubernetes naming rules: how Flotilla targets groups of clusters.
export {
  MAX_LABEL_LENGTH,
  MAX_SUBDOMAIN_LENGTH,
  mergeRegistrationLabels,
  validateClusterName,
  validateLabelKey,
  validateLabelValue,
  validateLabels,
} from './labels.js';
export {
  MAX_SELECTOR_LENGTH,
  MAX_SELECTOR_VALUES,
  SelectorError,
  SelectorOperator,
  formatSelector,
  matchesLabels,
  parseSelector,
  selectorFromObject,
  selectorOperators,
  selectorToSql,
  toLabelSelector,
} from './label-selector.js';
export type {
  LabelSelector,
  LabelSelectorRequirement,
  Requirement,
  SqlCondition,
} from './label-selector.js';

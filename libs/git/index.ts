// Git access for Flotilla: resolve branches and pinned revisions of http(s) or local
// repositories, read files at a commit, diff commits, and parse push webhooks.

/** Error classes (`retryable` tells a poller whether to try again) and credential redaction. */
export {
  GitAuthError,
  GitError,
  GitPathNotFoundError,
  GitRefNotFoundError,
  GitTooLargeError,
  GitUnreachableError,
  excerpt,
  formatBytes,
  redactCredentials,
  redactUrl,
  toGitError,
} from './errors.js';
/** Context for `toGitError`. */
export type { GitErrorContext } from './errors.js';
/** Read-only files of one commit. */
export type { FileTree } from './file-tree.js';
/** A repository: `resolve` a ref to a commit, `tree` of a commit, `changedPaths` between two. */
export { GitSource } from './git-source.js';
/** Options and argument types of `GitSource`. */
export type { GitCredentials, GitRef, GitSourceOptions } from './git-source.js';
/** Confinement of local repositories to one directory (FLOTILLA_FILE_URL_ROOT). */
export { confineToRoot } from './local-root.js';
/** Push and pull/merge request webhooks from GitHub, GitLab and Gitea, and URL comparison. */
export {
  WebhookError,
  isPullRequestWebhook,
  normalizeRepoUrl,
  parsePullRequestWebhook,
  parsePushWebhook,
  webhookReplayKeys,
} from './webhooks.js';
/** The parsed webhook and its provider. */
export type { PullRequestEvent, PushEvent, WebhookProvider } from './webhooks.js';

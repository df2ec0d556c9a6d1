// Credentials for chart repositories and registries, per GitRepo, keyed by URL prefix.

/**
 * How to authenticate to a chart repository or registry: HTTP basic (`username` + `password`),
 * a bearer `token`, and/or a PEM `caBundle` to trust (a private CA). Never logged or returned.
 */
export interface HelmRepoCredential {
  username?: string;
  password?: string;
  token?: string;
  caBundle?: string;
}

/** URL prefix (`https://charts.example.com/`, `oci://registry.example.com/team`) → credential. */
export type HelmRepoCredentials = Record<string, HelmRepoCredential>;

/**
 * The credential whose prefix is the longest that `url` starts with (`oci://host/path` for OCI
 * references), or undefined. A prefix matches whole path segments only: `https://a.com/x`
 * matches `https://a.com/x/index.yaml`, not `https://a.com/xy`.
 */
export function credentialFor(
  url: string,
  credentials: HelmRepoCredentials,
): HelmRepoCredential | undefined {
  let best: [string, HelmRepoCredential] | undefined;
  for (const [prefix, credential] of Object.entries(credentials)) {
    const bare = prefix.replace(/\/+$/, '');
    const matches = url === bare || url.startsWith(`${bare}/`) || url.startsWith(`${bare}?`);
    if (matches && (best === undefined || bare.length > best[0].length)) best = [bare, credential];
  }
  return best?.[1];
}

/**
 * Why `value` is not a valid `helmRepoCredentials` map, or undefined when it is: each key an
 * `https://`, `http://` or `oci://` URL prefix without user info, each value with
 * `username`+`password` or `token` (not both) and/or a PEM `caBundle`.
 */
export function helmCredentialsProblem(value: HelmRepoCredentials): string | undefined {
  for (const [prefix, c] of Object.entries(value)) {
    let url: URL;
    try {
      url = new URL(prefix);
    } catch {
      // Not echoed: a malformed key may still hold a password.
      return 'helmRepoCredentials: every key must be a URL prefix like https://charts.example.com/ or oci://registry.example.com/org';
    }
    const shown = new URL(url);
    shown.username = '';
    shown.password = '';
    const at = `helmRepoCredentials[${JSON.stringify(url.username || url.password ? shown.toString() : prefix)}]`;
    if (!['https:', 'http:', 'oci:'].includes(url.protocol)) {
      return `${at}: the key must start with https://, http:// or oci://`;
    }
    if (url.username !== '' || url.password !== '') {
      return `${at}: put credentials in the value, not in the URL`;
    }
    const basic = c.username !== undefined || c.password !== undefined;
    if (basic && (c.username === undefined || c.password === undefined)) {
      return `${at}: username and password go together`;
    }
    if (basic && c.token !== undefined) return `${at}: give username/password or token, not both`;
    if (!basic && c.token === undefined && c.caBundle === undefined) {
      return `${at}: needs username and password, token, or caBundle`;
    }
    if (c.caBundle !== undefined && !c.caBundle.includes('-----BEGIN CERTIFICATE-----')) {
      return `${at}.caBundle: must be PEM certificates (-----BEGIN CERTIFICATE-----)`;
    }
  }
  return undefined;
}

/** The Authorization header value of a credential, if it has one. */
export function authorization(credential: HelmRepoCredential | undefined): string | undefined {
  if (credential?.token !== undefined) return `Bearer ${credential.token}`;
  if (credential?.username !== undefined && credential.password !== undefined) {
    return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
  }
  return undefined;
}

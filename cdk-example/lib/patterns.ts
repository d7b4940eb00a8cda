import { Token } from 'aws-cdk-lib';

// Shapes checked at synthesis. Internal: jsii allows no exported constants or RegExps in the public API, and
// index.ts does not export this module.

export const ACCOUNT_ID_RE = /^\d{12}$/;
/** IAM role names: 1..64 characters of `[A-Za-z0-9+=,.@_-]` (no path). */
export const ROLE_NAME_RE = /^[\w+=,.@-]{1,64}$/;
/** An organization id, as AWS Organizations shapes it. */
export const ORGANIZATION_ID_RE = /^o-[a-z0-9]{10,32}$/;
// Deliberately loose: one @, no spaces, a dot in the domain. Organizations allows 6..64 characters.
export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, ap-southeast-5, il-central-1 ...
export const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
export const PARENT_ID_RE = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})$/;
export const OU_ID_RE = /^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$/;

/**
 * The `regions` prop of a member or a StackSet: not empty (leave it out to discover), region names, none twice.
 * Unresolved tokens pass (CloudFormation resolves them; the provider checks them again).
 */
export function checkRegions(regions: string[] | undefined, fail: (message: string) => never): void {
  if (regions === undefined || Token.isUnresolved(regions)) {
    return;
  }
  if (regions.length === 0) {
    fail('regions must not be empty; leave it out to enroll every region the administrator has enabled');
  }
  const bad = regions.filter((r) => !Token.isUnresolved(r) && !REGION_RE.test(r));
  if (bad.length > 0) {
    fail(`regions must be region names like 'us-east-1', got ${bad.map((r) => `'${r}'`).join(', ')}`);
  }
  const seen = new Set<string>();
  const dup = regions.filter((r) => !Token.isUnresolved(r) && (seen.has(r) || !seen.add(r)));
  if (dup.length > 0) {
    fail(`regions lists ${dup.map((r) => `'${r}'`).join(', ')} more than once`);
  }
}

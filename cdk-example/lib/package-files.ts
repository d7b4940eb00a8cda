import * as fs from 'fs';
import * as path from 'path';

// The package's root: lib/ is one level down, whether this runs as lib/*.ts (ts-node in the repository) or as
// compiled lib/*.js (installed from npm, or unpacked by the jsii runtime under Python).
const PACKAGE_ROOT = path.resolve(__dirname, '..');

/**
 * A file the package carries in `assets/` (copied there by `npm run assets` before it is packed), or, in a
 * checkout of the repository, the file it is copied from (`repoPath`, relative to the repository root), so
 * that the example app and the tests use what `make package` built last rather than a stale copy.
 * `undefined` when neither exists.
 */
export function packageFile(name: string, repoPath: string): string | undefined {
  // Installed packages sit in node_modules/; their parent directory is no repository.
  if (path.basename(path.dirname(PACKAGE_ROOT)) !== 'node_modules') {
    const inCheckout = path.join(PACKAGE_ROOT, '..', repoPath);
    if (fs.existsSync(inCheckout)) {
      return inCheckout;
    }
  }
  const packaged = path.join(PACKAGE_ROOT, 'assets', name);
  return fs.existsSync(packaged) ? packaged : undefined;
}

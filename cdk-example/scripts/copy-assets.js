// Copies what the package carries into assets/ before jsii compiles and npm packs it: the Lambda package that
// `make package` builds at the repository root, and the StackSet member template. Fails when the Lambda
// package is missing, because a package without it cannot deploy a working provider.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const assets = path.resolve(__dirname, '..', 'assets');
const files = [
  ['dist/bootstrap.zip', 'bootstrap.zip', 'run `make package` at the repository root first'],
  ['cloudformation/stackset-member.yaml', 'stackset-member.yaml', 'the repository is incomplete'],
];
fs.mkdirSync(assets, { recursive: true });
for (const [from, to, hint] of files) {
  const source = path.join(root, from);
  if (!fs.existsSync(source)) {
    console.error(`copy-assets: ${from} does not exist: ${hint}`);
    process.exit(1);
  }
  fs.copyFileSync(source, path.join(assets, to));
  console.log(`copy-assets: ${from} -> assets/${to}`);
}

// Writes package.json and package-lock.json of a consumer app into DIR: the package's tarball, plus the given
// packages at the versions cdk-example's own lock has, with their dependencies (entries copied from
// ../package-lock.json). `npm ci --offline` then installs it from npm's cache alone: `npm ci` of cdk-example
// cached exactly these tarballs, while a plain `npm install name@version` would need registry metadata that
// `npm ci` never fetched.
//
//   node consumer-lock.js DIR TARBALL NAME...
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [dir, tarball, ...names] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package-lock.json'), 'utf8'));
const own = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));

const packages = {};
const add = (name) => {
  const key = `node_modules/${name}`;
  if (packages[key]) {
    return;
  }
  const entry = lock.packages[key];
  if (!entry) {
    throw new Error(`${name} is not in cdk-example's package-lock.json`);
  }
  const { dev, devOptional, peer, ...kept } = entry;
  packages[key] = kept;
  // Bundled dependencies come inside the tarball; the lock lists them under the package.
  for (const [other, value] of Object.entries(lock.packages)) {
    if (other.startsWith(`${key}/node_modules/`)) {
      const { dev: _d, devOptional: _o, peer: _p, ...rest } = value;
      packages[other] = rest;
    }
  }
  for (const dependency of Object.keys({ ...entry.dependencies, ...entry.peerDependencies })) {
    if (!lock.packages[`${key}/node_modules/${dependency}`]) {
      add(dependency);
    }
  }
};
for (const name of names) {
  add(name);
}

const file = `file:${path.relative(dir, tarball)}`;
const integrity = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
const dependencies = { [own.name]: file };
for (const name of names) {
  dependencies[name] = packages[`node_modules/${name}`].version;
}
packages[`node_modules/${own.name}`] = {
  version: own.version,
  resolved: file,
  integrity,
  license: own.license,
  peerDependencies: own.peerDependencies,
};
const manifest = { name: 'consumer', version: '0.0.0', private: true, dependencies };
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
fs.writeFileSync(
  path.join(dir, 'package-lock.json'),
  JSON.stringify({ name: 'consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages: { '': manifest, ...packages } }, null, 2),
);

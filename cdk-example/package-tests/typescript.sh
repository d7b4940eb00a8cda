#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`ed, installed from the tarball into a fresh app outside the
# repository (offline: every package comes from npm's cache, filled by `npm ci` of cdk-example), type-checked
# against the package's .d.ts and synthesized; check-synth.js checks the stack. Leaves the template in
# dist/js/ for python.sh to compare with.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
package=$(dirname "$here")
cd "$package"
# Node 20 is what the project pins; jsii's end-of-life banner would bury the output.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

start=$SECONDS
npm run --silent build
rm -rf dist/js && mkdir -p dist/js
tarball="$package/dist/js/$(npm pack --silent --pack-destination dist/js)"
echo "packed $(basename "$tarball") ($(du -h "$tarball" | cut -f1)): $(tar -tzf "$tarball" | grep -c .) files"
# Nothing but the library: no example app, tests, sources or build scripts.
if tar -tzf "$tarball" | grep -E '^package/(app|test|package-tests|scripts)/|\.ts$' | grep -v '\.d\.ts$'; then
  echo "the tarball holds files that are not the library's" >&2
  exit 1
fi

app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp "$here/consumer.ts" "$app/app.ts"
node "$here/consumer-lock.js" "$app" "$tarball" aws-cdk-lib constructs typescript @types/node
(cd "$app" && npm ci --offline --no-audit --no-fund --loglevel=error)
(cd "$app" && node_modules/.bin/tsc --strict --skipLibCheck --target ES2022 --module commonjs --types node app.ts)
(cd "$app" && CDK_OUTDIR="$app/cdk.out" node app.js)
node "$here/check-synth.js" "$app/cdk.out"
cp "$app/cdk.out/ConsumerStack.template.json" dist/js/
echo "npm package gate: $((SECONDS - start)) s"

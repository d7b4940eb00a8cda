#!/usr/bin/env bash
# The Python package as a user gets it: jsii-pacmak generates it from the same jsii assembly, setuptools builds
# the wheel, which is installed into a fresh venv; a tiny app there synthesizes the stack of consumer.ts, and
# check-synth.js checks it and compares it with the npm package's (typescript.sh runs first).
#
# The pinned dependencies (python/requirements.txt, from PyPI) live in one venv, $CDK_PYTHON_VENV (default
# .venv/cdk-python at the repository root), made again only when the pins change: installing aws-cdk-lib
# takes about half a minute. The fresh venv sees them through a .pth file and holds only the wheel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
package=$(dirname "$here")
repo=$(dirname "$package")
cd "$package"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
start=$SECONDS

if [ ! -f dist/js/ConsumerStack.template.json ] || [ ! -f .jsii ]; then
  echo "run typescript.sh first: it builds the jsii assembly and the template to compare with" >&2
  exit 1
fi

deps=${CDK_PYTHON_VENV:-$repo/.venv/cdk-python}
marker="$deps/.installed-$(sha256sum "$here/python/requirements.txt" | cut -c1-16)"
if [ ! -f "$marker" ]; then
  rm -rf "$deps"
  python3 -m venv "$deps"
  "$deps/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
  touch "$marker"
fi
echo "dependencies venv ready: $((SECONDS - start)) s"

# --code-only: pacmak's own build would make a venv and install build, twine and setuptools from PyPI on every
# run; the pinned setuptools of the venv above builds the same wheel without that (twine only checks metadata
# for an upload).
rm -rf dist/python dist/python-wheel
npx jsii-pacmak --target python --code-only
"$deps/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  -w dist/python-wheel dist/python
wheel=$(ls dist/python-wheel/*.whl)
echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv --without-pip "$work/venv"
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$deps/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/cdk-python-deps.pth"
"$deps/bin/python" -m pip --python "$work/venv/bin/python" install --quiet --disable-pip-version-check --no-deps "$wheel"
# The wheel's own requirements (aws-cdk-lib, constructs, jsii ...) are met by what the venv sees.
"$deps/bin/python" -m pip --python "$work/venv/bin/python" check
cp "$here/python/app.py" "$work/app.py"
(cd "$work" && CDK_OUTDIR="$work/cdk.out" "$work/venv/bin/python" app.py)
node "$here/check-synth.js" "$work/cdk.out" dist/js/ConsumerStack.template.json
echo "Python package gate: $((SECONDS - start)) s"

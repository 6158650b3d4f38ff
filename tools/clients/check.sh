#!/usr/bin/env bash
# Proves that clients generated from the service's OpenAPI document work, against a running service:
#
#   tools/clients/check.sh BASE_URL [WORK_DIR]      e.g. tools/clients/check.sh http://127.0.0.1:8631
#
# 1. fetches BASE_URL/openapi.json and lints it with Redocly CLI (redocly.yaml: the recommended rules,
#    errors and warnings alike);
# 2. generates the Python client with openapi-python-client, failing on any warning it prints, and
#    imports every module of it;
# 3. generates TypeScript types with openapi-typescript and type-checks scenario.ts against them
#    (tsc --strict --noEmit);
# 4. runs scenario.py (through the generated Python client) and scenario.ts (through openapi-fetch)
#    against the service.
#
# WORK_DIR (default: a new temporary directory, removed afterwards) receives the document, the generated
# clients and, unless CLIENTS_VENV names an existing virtualenv to reuse, a virtualenv with
# requirements.txt. Node packages come from package-lock.json (npm ci, into tools/clients/node_modules).
# The service must allow 4 registrations from this address (REGISTRATIONS_PER_ADDRESS) per run.
# Exits non-zero on the first failure.
if [[ ${1:-} == -h || ${1:-} == --help ]]; then  # the comment above, as the usage
  echo "usage: tools/clients/check.sh BASE_URL [WORK_DIR]"; sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0
fi
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  sed -n '2,18p' "$0" >&2
  exit 2
fi
BASE_URL=${1%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -eq 2 ]]; then
  mkdir -p "$2"
  WORK=$(cd "$2" && pwd)
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/client-check.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
SECONDS=0
section() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

section "tools: Node packages (npm ci) and the Python virtualenv"
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
BIN="$HERE/node_modules/.bin"
if [[ -n ${CLIENTS_VENV:-} ]]; then
  VENV=$CLIENTS_VENV
else
  VENV="$WORK/venv"
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }
fi
PY="$VENV/bin/python"
"$PY" -c 'import openapi_python_client, httpx, attrs'  # the generator, and what the generated client imports
echo "openapi-python-client $("$VENV/bin/openapi-python-client" --version | awk '{print $NF}'), $("$BIN/tsc" --version)"

section "document: $BASE_URL/openapi.json"
# Pretty-printed, so that lint findings name a useful line.
"$PY" - "$BASE_URL/openapi.json" "$WORK/openapi.json" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
    document = json.load(response)
with open(sys.argv[2], 'w', encoding='utf-8') as out:
    json.dump(document, out, indent=2, ensure_ascii=False)
print(f"OpenAPI {document['openapi']}, {len(document['paths'])} paths, "
      f"{len(document.get('components', {}).get('schemas', {}))} schemas")
PY

section "lint: redocly lint (redocly.yaml)"
# Node 20 gets a deprecation box from Redocly CLI 2 on every run: not a finding.
# Warnings fail too: the recommended rules pass, or the document changes.
linted=0
(cd "$WORK" && "$BIN/redocly" lint --config "$HERE/redocly.yaml" --format=stylish openapi.json >"$WORK/lint.txt" 2>&1) \
  || linted=$?
grep -v -e '[║╔╚]' -e '^[[:space:]]*$' "$WORK/lint.txt" || true
if [[ $linted -ne 0 ]] || grep -qE '^[[:space:]]+[0-9]+:[0-9]+[[:space:]]+(error|warning)[[:space:]]' "$WORK/lint.txt"; then
  echo "FAILED: redocly lint found problems (above)" >&2
  exit 1
fi

section "Python client: openapi-python-client generate"
rm -rf "$WORK/py"
mkdir -p "$WORK/py"
# The venv's bin first on PATH: the generator runs ruff (installed with it) over what it wrote.
if ! PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate --path "$WORK/openapi.json" \
    --output-path "$WORK/py/bucketlist_client" --meta none >"$WORK/py/generate.log" 2>&1; then
  cat "$WORK/py/generate.log"
  echo "FAILED: openapi-python-client exited non-zero" >&2
  exit 1
fi
# The only line a clean run prints is "Generating <path>"; anything else ("Warning(s) encountered ...",
# "WARNING parsing ...", "Skipping Integration") is a warning, and a failure here.
if grep -v -e '^Generating ' -e '^[[:space:]]*$' "$WORK/py/generate.log" >/dev/null; then
  cat "$WORK/py/generate.log"
  echo "FAILED: openapi-python-client warned (above); see which path or schema it names" >&2
  exit 1
fi
cat "$WORK/py/generate.log"
"$PY" - "$WORK/py" <<'PY'
import importlib, pkgutil, sys, traceback
sys.path.insert(0, sys.argv[1])
package = importlib.import_module('bucketlist_client')
names, failed = ['bucketlist_client'], []
for module in pkgutil.walk_packages(package.__path__, 'bucketlist_client.'):
    names.append(module.name)
    try:
        importlib.import_module(module.name)
    except Exception:
        failed.append(module.name)
        traceback.print_exc()
operations = [name for name in names if name.startswith('bucketlist_client.api.') and name.count('.') == 3]
models = [name for name in names if name.startswith('bucketlist_client.models.')]
print(f'imported {len(names) - len(failed)} of {len(names)} modules: {len(operations)} operations, {len(models)} models')
if failed:
    sys.exit(f'FAILED: {len(failed)} modules do not import: {", ".join(failed)}')
PY

section "TypeScript: openapi-typescript, then tsc --strict --noEmit scenario.ts"
rm -rf "$WORK/ts"
mkdir -p "$WORK/ts"
"$BIN/openapi-typescript" "$WORK/openapi.json" --output "$WORK/ts/schema.d.ts" 2>&1
# scenario.ts imports ./schema.js: it is checked and run beside the generated types, resolving its
# packages from tools/clients/node_modules.
cp "$HERE/scenario.ts" "$WORK/ts/scenario.ts"
ln -s "$HERE/node_modules" "$WORK/ts/node_modules"
printf '{"type": "module", "private": true}\n' >"$WORK/ts/package.json"
"$BIN/tsc" --strict --noEmit --noUnusedLocals --noUncheckedIndexedAccess --exactOptionalPropertyTypes \
  --target es2022 --lib es2022,dom --module nodenext --moduleResolution nodenext \
  --types node --typeRoots "$HERE/node_modules/@types" "$WORK/ts/scenario.ts" 2>&1 \
  || { echo "FAILED: tsc" >&2; exit 1; }
echo "scenario.ts type-checks against the generated paths"

section "scenario: Python client"
"$PY" "$HERE/scenario.py" "$BASE_URL" "$WORK/py"

section "scenario: TypeScript client (openapi-fetch)"
"$BIN/tsx" "$WORK/ts/scenario.ts" "$BASE_URL"

section "all client checks passed"

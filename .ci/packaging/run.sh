#!/usr/bin/env bash
# Packaging test: packs every package, installs the library tarballs into a fresh
# project outside the workspace (with msgpackr but not cbor-x), imports them as ESM
# and CommonJS, typechecks examples/*.ts as a consumer with moduleResolution NodeNext
# and bundler, runs examples/quickstart.ts against a redis-server and examples/metrics.ts
# (on Node, and on Bun when Bun can be installed from npm and starts on this machine),
# bundles examples/quickstart.ts and examples/binary-codecs.ts with esbuild in a second project
# (with msgpackr and cbor-x) and runs the bundles from a directory without node_modules,
# runs the node-redis guide's program in a project with node-redis and without ioredis,
# and installs the dogpile command-line tool from its tarball.
# Prints one line per check and ends with "packaging: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dogpile-packaging.XXXXXX")
app="$work/app"
passed=0
failed=0
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME COMMAND...: runs COMMAND, shows its output on failure
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    printf 'ok   %s%s\n' "$name" "$(printf '%s' "$out" | tail -1 | sed 's/^/: /;s/^: $//')"
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n%s\n' "$name" "$(printf '%s' "$out" | tail -30)"
  fi
}
finish() { echo "packaging: $passed passed, $failed failed"; exit $((failed > 0)); }

pack_all() {
  (cd "$repo" && pnpm run build >/dev/null) || return 1
  for dir in "$repo"/packages/*/; do
    (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null) || return 1
  done
  # pnpm pack writes workspace:^ ranges as real ones; none may survive.
  for tarball in "$work"/tarballs/*.tgz; do
    tar -xzOf "$tarball" package/package.json | grep -q '"workspace:' && { echo "workspace: range left in $tarball"; return 1; }
  done
  ls "$work/tarballs"
}

# The libraries, without the command-line tool (an application with its own dependencies).
libraries() { ls "$work"/tarballs/*.tgz | grep -v '/dogpile-effect-cli-'; }

install_app() {
  mkdir -p "$app/examples" && cd "$app" || return 1
  printf '{ "name": "consumer", "private": true, "type": "module" }\n' >package.json
  # shellcheck disable=SC2046
  # @types/redis-errors: ioredis 6's declarations import redis-errors, whose types ioredis lists only as
  # a devDependency; a consumer typechecking with skipLibCheck false (as here) installs them itself.
  npm install --no-audit --no-fund --loglevel=error $(libraries) \
    effect@^4.1.0 ioredis@^6.0.0 msgpackr@^2.1.4 typescript@5.9.3 @types/node@^24 @types/redis-errors@^1.2.1 || return 1
  [[ ! -e node_modules/cbor-x ]] || { echo "cbor-x was installed though nothing but an optional peer names it"; return 1; }
  cp "$here"/esm.mjs "$here"/cjs.cjs "$here"/tsconfig.*.json . && cp "$repo"/examples/*.ts examples/
  echo "installed $(ls node_modules/@dogpile-effect | tr '\n' ' ')without cbor-x"
}

run_quickstart() { # run_quickstart [RUNTIME] [FILE]: FILE (default examples/quickstart.ts) on RUNTIME (default node)
  local runtime=${1:-node} file=${2:-examples/quickstart.ts} port
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  # Its output goes to a file: an inherited pipe would keep check's $(...) waiting for the server.
  "${REDIS_SERVER_BIN:-redis-server}" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do node -e 'require("net").connect('"$port"',"127.0.0.1").on("connect",()=>process.exit(0)).on("error",()=>process.exit(1))' && break; sleep 0.1; done
  REDIS_URL="redis://127.0.0.1:$port" timeout 60 "$runtime" "$file"
  local status=$?
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
  return $status
}

check "pack every package" pack_all || true
[[ $failed -eq 0 ]] || finish
check "install the tarballs in a fresh project" install_app
[[ $failed -eq 0 ]] || finish
cd "$app" || finish
check "ESM import; msgpack with only msgpackr installed" node esm.mjs
check "CommonJS require" node cjs.cjs
check "typecheck examples/*.ts (NodeNext)" npx tsc -p tsconfig.nodenext.json
check "typecheck examples/*.ts (bundler)" npx tsc -p tsconfig.bundler.json
check "run examples/quickstart.ts against redis-server" run_quickstart
install_cli() { # the dogpile bin from its tarball (with the libraries it needs), outside the workspace
  local tool="$work/tool"
  mkdir -p "$tool" && cd "$tool" || return 1
  printf '{ "name": "operator", "private": true }\n' >package.json
  npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz || return 1
  ./node_modules/.bin/dogpile --help >/dev/null || return 1
  echo "dogpile --help runs"
}

# Bundles: a second project with both optional peers and esbuild; the bundles run from a directory
# with no node_modules, so msgpackr and cbor-x must be inside them.
bundle_examples() {
  local bundler="$work/bundler" out="$work/bundles"
  mkdir -p "$bundler/examples" "$out" && cd "$bundler" || return 1
  printf '{ "name": "bundled", "private": true, "type": "module" }\n' >package.json
  # shellcheck disable=SC2046
  npm install --no-audit --no-fund --loglevel=error $(libraries) \
    effect@^4.1.0 ioredis@^6.0.0 msgpackr@^2.1.4 cbor-x@^1.6.9 esbuild@0.28.2 || return 1
  cp "$repo"/examples/quickstart.ts "$repo"/examples/binary-codecs.ts examples/
  local banner='import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);'
  for example in quickstart binary-codecs; do
    ./node_modules/.bin/esbuild "examples/$example.ts" --bundle --platform=node --target=node22 --format=esm \
      --log-level=warning "--banner:js=$banner" --outfile="$out/$example.mjs" || return 1
  done
  cd "$out" && echo "bundled $(ls | tr '\n' ' ')"
}
check "bundle examples/quickstart.ts and examples/binary-codecs.ts with esbuild" bundle_examples
check "run the quickstart bundle against redis-server" run_quickstart node "$work/bundles/quickstart.mjs"
run_codecs_bundle() { run_quickstart node "$work/bundles/binary-codecs.mjs" 2>&1 | grep 'binary codecs: msgpack {"user":7'; }
check "run the binary-codecs bundle: msgpack and cbor values round-trip" run_codecs_bundle
# A node-redis application: @dogpile-effect/node-redis over Effect's NodeRedis, with no ioredis installed.
node_redis_app() {
  local dir="$work/node-redis-app"
  mkdir -p "$dir/examples" && cd "$dir" || return 1
  printf '{ "name": "node-redis-app", "private": true, "type": "module" }\n' >package.json
  npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/dogpile-effect-core-*.tgz \
    "$work"/tarballs/dogpile-effect-redis-*.tgz "$work"/tarballs/dogpile-effect-node-redis-*.tgz effect@^4.1.0 @effect/platform-node@^4.1.0 redis@^6.3.1 || return 1
  [[ ! -e node_modules/ioredis ]] || { echo "ioredis was installed for a node-redis application"; return 1; }
  cp "$repo"/examples/guides/node-redis.ts examples/
  run_quickstart node examples/node-redis.ts 2>&1 | grep 'node-redis: 1000 callers got user 42, 1 creator run'
}
check "run examples/guides/node-redis.ts with node-redis and without ioredis" node_redis_app
cd "$app" || finish
check "install the dogpile command-line tool and run --help" install_cli
cd "$app" || finish
check "run examples/metrics.ts: Prometheus text with the _total names" \
  bash -c 'node examples/metrics.ts 2>&1 | grep "dogpile_hits_total{region=\"users\"} 1"'

# Bun, from npm like the Node runtimes (cached beside them). Skipped, not failed, when it cannot be
# installed or does not start here (its x64 build needs AVX2); a failure of the examples on it counts.
bun_bin() {
  local dir="${NODE_RUNTIMES_CACHE:-$HOME/.cache/dogpile-effect-node}/bun-1.4.5"
  if [[ ! -x $dir/node_modules/.bin/bun ]]; then
    mkdir -p "$dir" 2>/dev/null && npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error bun@1.4.5 >/dev/null 2>&1 \
      || return 1
  fi
  "$dir/node_modules/.bin/bun" --version >/dev/null 2>&1 || return 1
  echo "$dir/node_modules/.bin/bun"
}
if bun=$(bun_bin); then
  check "run examples/quickstart.ts on Bun $("$bun" --version) against redis-server" run_quickstart "$bun"
  check "run examples/metrics.ts on Bun" \
    bash -c '"$0" examples/metrics.ts 2>&1 | grep "dogpile_hits_total{region=\"users\"} 1"' "$bun"
else
  echo "skip Bun: it could not be installed from npm or does not start on this machine"
fi
finish

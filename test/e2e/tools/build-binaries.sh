#!/usr/bin/env bash
# Builds the end-to-end test infrastructure (kube-apiserver, etcd, helm) from
# their Go modules through the Go module proxy. Prebuilt archives cannot be
# downloaded on our CI machines, so we compile; results are cached outside the
# repository, keyed by version, so a second run is instant.
#
# Go is test infrastructure only: nothing here ships in the product.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.21.4}"
CACHE_ROOT="${TG_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-guard-e2e}"
BIN_DIR="$CACHE_ROOT/bin"
mkdir -p "$BIN_DIR"

log() { printf '[e2e-build] %s\n' "$*" >&2; }

# wrapper_module DIR MODULE VERSION: a throwaway module that requires MODULE at
# VERSION; `go build` inside it resolves dependencies by MVS from the proxy.
wrapper_module() {
  local dir=$1 mod=$2 ver=$3
  command -v go >/dev/null 2>&1 || { log "go is not installed: it is needed once, to build the e2e binaries"; exit 2; }
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module tgbuild\n\ngo 1.24\n\nrequire %s %s\n' "$mod" "$ver" >"$dir/go.mod"
}

build_kube_apiserver() {
  local out="$BIN_DIR/kube-apiserver-$K8S_VERSION"
  [ -x "$out" ] && { log "kube-apiserver $K8S_VERSION cached"; return; }
  local dir="$CACHE_ROOT/work/kubernetes-$K8S_VERSION"
  wrapper_module "$dir" k8s.io/kubernetes "$K8S_VERSION"
  # k8s.io/kubernetes points its staging modules at ./staging with replace
  # directives, which do not apply to a dependent module; replace each with
  # its published v0.x release instead.
  local gomod staging_ver
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  staging_ver="v0.${K8S_VERSION#v1.}"
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | while read -r m; do
    printf 'replace %s => %s %s\n' "$m" "$m" "$staging_ver" >>"$dir/go.mod"
  done
  log "building kube-apiserver $K8S_VERSION (first run: several minutes)"
  (cd "$dir"
   printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
   # Stamp the version (as the release build does) so /version reports it.
   local v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
   go mod tidy && CGO_ENABLED=0 go build -trimpath \
     -ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
     -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$BIN_DIR/etcd-$ETCD_VERSION"
  [ -x "$out" ] && { log "etcd $ETCD_VERSION cached"; return; }
  local dir="$CACHE_ROOT/work/etcd-$ETCD_VERSION"
  wrapper_module "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  (cd "$dir"
   printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
   go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3)
  mv "$out.tmp" "$out"
}

build_helm() {
  local out="$BIN_DIR/helm-$HELM_VERSION"
  [ -x "$out" ] && { log "helm $HELM_VERSION cached"; return; }
  local dir="$CACHE_ROOT/work/helm-$HELM_VERSION"
  wrapper_module "$dir" helm.sh/helm/v3 "$HELM_VERSION"
  log "building helm $HELM_VERSION"
  (cd "$dir"
   printf 'package tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' >tools.go
   go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$out.tmp" "$out"
}

start=$(date +%s)
# Several e2e test files start at once on a fresh machine: one builds, the
# others wait here and then find the cache.
exec 9>"$CACHE_ROOT/.build.lock"
if command -v flock >/dev/null 2>&1; then
  flock -n 9 || { log "another build is running; waiting for it"; flock 9; }
fi
what="${*:-kube-apiserver etcd helm}"
for b in $what; do
  case "$b" in
    kube-apiserver) build_kube_apiserver ;;
    etcd) build_etcd ;;
    helm) build_helm ;;
    *) log "unknown binary: $b"; exit 2 ;;
  esac
done
ln -sf "kube-apiserver-$K8S_VERSION" "$BIN_DIR/kube-apiserver" 2>/dev/null || true
ln -sf "etcd-$ETCD_VERSION" "$BIN_DIR/etcd" 2>/dev/null || true
ln -sf "helm-$HELM_VERSION" "$BIN_DIR/helm" 2>/dev/null || true
log "binaries ready in $BIN_DIR after $(( $(date +%s) - start ))s"
echo "$BIN_DIR"

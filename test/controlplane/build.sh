#!/usr/bin/env bash
# Builds the test control plane (etcd + kube-apiserver in one binary), kubectl
# and helm from Go modules into a git-ignored cache folder, and prints where
# they are as KEY=value lines on stdout (build output goes to stderr):
#
#   CONTROLPLANE=<cache>/controlplane/controlplane-<hash>/controlplane
#   KUBECTL=<cache>/controlplane/kubectl-<hash>/kubectl
#   HELM=<cache>/controlplane/helm-<hash>/helm
#   BIN_DIR=<cache>/controlplane/bin        (symlinks to the three)
#
# <cache> is $MULTI_MCP_CACHE, default <repo>/.cache. <hash> covers the Go
# sources, go.mod, go.sum, this script and the Go version, so a second run is a
# no-op until one of them changes. Concurrent runs wait for each other (flock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${MULTI_MCP_CACHE:-$repo/.cache}/controlplane"

K8S_VERSION=v1.34.3
HELM_VERSION=v3.19.5
MIN_GO_MINOR=24

log() { printf 'build-controlplane: %s\n' "$*" >&2; }
die() { printf 'build-controlplane: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  die "Go is not installed: install Go >= 1.$MIN_GO_MINOR (https://go.dev/dl/) to run the operator tests (the test Kubernetes control plane is built from source)"
gover="$(go env GOVERSION)"
gominor="$(printf '%s' "$gover" | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
if [ -z "$gominor" ] || [ "$gominor" -lt "$MIN_GO_MINOR" ]; then
  die "found $gover: install Go >= 1.$MIN_GO_MINOR (https://go.dev/dl/) to run the operator tests"
fi

hash_of() { # files... -> short sha256 over names and contents, plus Go version
  { printf '%s\n' "$gover"; for f in "$@"; do printf '%s\n' "${f#"$here"/}"; cat "$f"; done; } |
    sha256sum | cut -c1-16
}

# One folder per binary, so editing main.go does not relink kubectl.
cp_dir="$cache/controlplane-$(hash_of "$here/build.sh" "$here/go.mod" "$here/go.sum" "$here"/*.go)"
kubectl_dir="$cache/kubectl-$(hash_of "$here/build.sh" "$here/go.mod" "$here/go.sum")"
helm_dir="$cache/helm-$(hash_of "$here/build.sh" "$here/helm/go.mod" "$here/helm/go.sum")"

mkdir -p "$cache"
if command -v flock >/dev/null 2>&1; then # util-linux; without it, concurrent builds just race
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    log "another build is running, waiting for it (lock $cache/.lock, at most 1 h)"
    flock -w 3600 9 || die "gave up waiting for the other build (lock $cache/.lock)"
  fi
fi

export CGO_ENABLED=0
case " ${GOFLAGS:-} " in *" -buildvcs="*) ;; *) export GOFLAGS="${GOFLAGS:-} -buildvcs=false" ;; esac

build() { # dir(module) out-dir name package ldflags
  local mod="$1" out="$2" name="$3" pkg="$4" ldflags="$5" start
  start=$(date +%s)
  log "building $name ($pkg) ..."
  (cd "$mod" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name" "$pkg")
  log "built $name in $(($(date +%s) - start))s ($(du -h "$out/$name" | cut -f1))"
}

kver="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
kver="$kver -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean"
kver="$kver -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
kver="$kver -X k8s.io/client-go/pkg/version.gitMinor=34 -X k8s.io/client-go/pkg/version.gitTreeState=clean"
hver="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
hver="$hver -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34"
hver="$hver -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34"

ensure() { # out-dir name module-dir package ldflags
  local out="$1" name="$2" tmp
  if [ -x "$out/$name" ]; then
    log "$name is up to date ($out)"
    return
  fi
  tmp="$(mktemp -d "$cache/.build-$name.XXXXXX")"
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  build "$3" "$tmp" "$name" "$4" "$5"
  rm -rf "$out"
  mv "$tmp" "$out"
  trap - EXIT
}

ensure "$cp_dir" controlplane "$here" . "-X main.version=$K8S_VERSION $kver"
ensure "$kubectl_dir" kubectl "$here" k8s.io/kubernetes/cmd/kubectl "$kver"
ensure "$helm_dir" helm "$here/helm" helm.sh/helm/v3/cmd/helm "$hver"

# Stable paths for people: <cache>/controlplane/bin/{controlplane,kubectl,helm}.
mkdir -p "$cache/bin"
ln -sfn "$cp_dir/controlplane" "$cache/bin/controlplane"
ln -sfn "$kubectl_dir/kubectl" "$cache/bin/kubectl"
ln -sfn "$helm_dir/helm" "$cache/bin/helm"

# Drop builds of older sources (keep the current ones).
for d in "$cache"/controlplane-* "$cache"/kubectl-* "$cache"/helm-* "$cache"/k8s-*; do
  [ -d "$d" ] || continue
  case "$d" in "$cp_dir" | "$kubectl_dir" | "$helm_dir") ;; *) rm -rf "$d" ;; esac
done

echo "CONTROLPLANE=$cp_dir/controlplane"
echo "KUBECTL=$kubectl_dir/kubectl"
echo "HELM=$helm_dir/helm"
echo "BIN_DIR=$cache/bin"
echo "K8S_VERSION=$K8S_VERSION"
echo "HELM_VERSION=$HELM_VERSION"

#!/usr/bin/env bash
# Render the notebooks, executed, as self-contained offline pages, in an
# instructor's and a students' version:
#
#   scripts/render_lecture.sh [--executed DIR [--require-executed]] [notebook.ipynb ...]
#                                                  (default: notebooks/*.ipynb)
#
# For each notebook it writes
#   build/lecture/executed/<stem>.ipynb            the notebook with its outputs
#   build/lecture/instructor/<stem>.html           the page (nbconvert's lab template), solutions shown
#   build/lecture/instructor/<stem>.slides.html    reveal.js slides (cells' slide_type)
#   build/lecture/student/<stem>.html, .slides.html   `solution` cells removed, the outputs of
#                                                  `exercise` and `check` cells cleared
#   build/lecture/student/<stem>.ipynb             the students' notebook, without outputs
# and then build/lecture/index.html, linking every rendered notebook.
#
# Each notebook is executed once, with the gan_tutorial kernel, in its own
# folder, and both versions are made from that one execution
# (scripts/render_lecture.py). `--executed DIR` reuses the copies the
# notebook tests executed (tests/notebooks/nbstrict.py writes them to
# build/ci-artifacts/executed/) when their cells match the notebook's.
#
# Offline: plots are data URIs, and the scripts nbconvert's templates take from
# CDNs (MathJax 2.7.7, require.js 2.1.10, jQuery 2.x, reveal.js 4.0.2) are
# vendored from npm into build/lecture/vendor/ and linked with relative URLs,
# so build/lecture/ works from file:// or any static server with no network.
# The npm tarballs are cached in ~/.cache/gan_tutorial/npm (GAN_TUTORIAL_CACHE).
#
# Execution is strict, like the notebook tests: a panic, a compile error or a
# cell writing to stderr (a `?` error) fails the render, which exits non-zero
# and leaves the previous outputs in place.
#
# Environment: GAN_TUTORIAL_NOTEBOOK_MODE (quick|full) reaches the notebooks;
# GAN_TUTORIAL_CELL_TIMEOUT (s, default 1800); GAN_TUTORIAL_LECTURE_DIR (the
# output folder, default build/lecture; the tests use build/ci-artifacts/lecture
# so that `make test` never replaces a full render with a quick one).
set -euo pipefail

caller=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { printf 'render_lecture: %s\n' "$*" >&2; exit 1; }

python="$root/.venv/bin/python"
out="${GAN_TUTORIAL_LECTURE_DIR:-$root/build/lecture}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
vendor="$out/vendor"
cache="${GAN_TUTORIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gan_tutorial}/npm"

[ -x "$python" ] || die "$python is missing: run 'make setup' first"
"$python" -c 'import nbconvert' 2>/dev/null || die "nbconvert is not installed in .venv: run 'make setup' first"

# The notebooks to render (arguments are relative to the caller's directory),
# as absolute paths, all checked before any work.
passthrough=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --executed)
      [ "$#" -ge 2 ] || die "--executed needs a folder"
      dir=$2; case "$dir" in /*) ;; *) dir="$caller/$dir" ;; esac
      passthrough+=(--executed "$dir"); shift 2 ;;
    --require-executed) passthrough+=(--require-executed); shift ;;
    --*) die "unknown option $1 (use --executed DIR, --require-executed)" ;;
    *) break ;;
  esac
done
if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  set -- "$root"/notebooks/*.ipynb
  shopt -u nullglob
  [ "$#" -gt 0 ] || die "no notebooks in $root/notebooks"
fi
notebooks=()
for nb in "$@"; do
  case "$nb" in /*) ;; *) nb="$caller/$nb" ;; esac
  case "$nb" in *.ipynb) ;; *) die "not a notebook (.ipynb): $nb" ;; esac
  [ -f "$nb" ] || die "no such notebook: $nb"
  notebooks+=("$(cd "$(dirname "$nb")" && pwd)/$(basename "$nb")")
done

mkdir -p "$vendor" "$cache"

# ---------------------------------------------------------------------------
# Vendored scripts, from npm (pinned versions; npm checks each tarball's
# integrity against the registry). Each package is unpacked into a temporary
# folder and moved into place, stamped with its spec: an unpacked package with
# the right stamp is kept as it is, a cached tarball is not fetched again.

npm_tarball() { # spec file -> path of the cached tarball
  local spec=$1 file=$2 tmp
  if [ ! -s "$cache/$file" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is needed once, to fetch $spec for offline pages: install Node.js and npm (Debian/Ubuntu: apt-get install npm)"
    tmp=$(mktemp -d "$cache/.pack.XXXXXX")
    if ! (cd "$tmp" && npm pack --loglevel=error "$spec" >/dev/null); then
      rm -rf "$tmp"
      die "npm pack $spec failed (is the npm registry reachable?)"
    fi
    [ -s "$tmp/$file" ] || { rm -rf "$tmp"; die "npm pack $spec did not write $file"; }
    mv "$tmp/$file" "$cache/$file"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$cache/$file"
}

vendor_package() { # name spec file [tar arguments: members, --exclude=...]
  local name=$1 spec=$2 file=$3 tarball tmp
  shift 3
  if [ "$(cat "$vendor/$name/.vendored-from" 2>/dev/null)" = "$spec" ]; then
    return 0
  fi
  tarball=$(npm_tarball "$spec" "$file")
  tmp=$(mktemp -d "$vendor/.$name.XXXXXX")
  chmod 755 "$tmp"
  if ! tar -xzf "$tarball" -C "$tmp" --strip-components=1 "$@"; then
    rm -rf "$tmp"
    die "could not unpack $tarball (delete it to fetch it again)"
  fi
  printf '%s\n' "$spec" >"$tmp/.vendored-from"
  rm -rf "$vendor/$name"
  mv "$tmp" "$vendor/$name"
}

vendor_all() {
  # MathJax 2.7.7 as nbconvert loads it (TeX-AMS_CHTML-full): everything but
  # the unminified copy, the tests and the optional web fonts other than TeX.
  vendor_package mathjax mathjax@2.7.7 mathjax-2.7.7.tgz \
    --exclude=package/unpacked --exclude=package/test \
    --exclude=package/fonts/HTML-CSS/Asana-Math --exclude=package/fonts/HTML-CSS/Gyre-Pagella \
    --exclude=package/fonts/HTML-CSS/Gyre-Termes --exclude=package/fonts/HTML-CSS/Latin-Modern \
    --exclude=package/fonts/HTML-CSS/Neo-Euler --exclude=package/fonts/HTML-CSS/STIX-Web \
    --exclude=package/fonts/HTML-CSS/TeX/eot --exclude=package/fonts/HTML-CSS/TeX/svg
  vendor_package reveal.js reveal.js@4.0.2 reveal.js-4.0.2.tgz \
    package/LICENSE package/dist package/plugin
  vendor_package requirejs requirejs@2.1.10 requirejs-2.1.10.tgz \
    package/require.js package/README.md
  # nbconvert's slides load jQuery 2.0.3, which npm does not have: 2.2.4 is
  # the last 2.x release.
  vendor_package jquery jquery@2.2.4 jquery-2.2.4.tgz \
    package/LICENSE.txt package/dist/jquery.min.js
}

# Two renders at once share build/lecture/vendor: unpack under a lock.
exec 8>"$out/.vendor.lock"
flock 8
vendor_all
flock -u 8
exec 8>&-

# ---------------------------------------------------------------------------
# Execute each notebook once, export its page and slides, write the index.
exec "$python" "$root/scripts/render_lecture.py" "$out" ${passthrough[@]+"${passthrough[@]}"} "${notebooks[@]}"

#!/usr/bin/env bash
# Dependencies point down only: the crates of the workspace (cargo tree) and the top-level modules
# of the root crate (every `crate::<module>` reference, outside test modules) are checked against
# ONE layer table, the one of /work/shared/DESIGN.md mapped onto this code.
#
# It fails when a dependency is not in the table (it points up, or sideways into a sibling), and
# when the check itself cannot run: cargo tree fails, no source file is found, the table names a
# crate or module that does not exist, or a crate or module exists that the table does not place.
#
# A script, not a test: it runs in seconds before anything is compiled (cargo tree only reads the
# manifests), it reads the whole source tree as text (a test would see only what it is compiled
# with), and its failure is one readable line per wrong edge.
#
# Usage: .ci/layers.sh            check, print the edges found and the result
#        .ci/layers.sh --edges    only print the module edges found (no check)
set -euo pipefail
set -f # no globbing: `*` in the table means "anything"
cd "$(dirname "$0")/.."

# ---------------------------------------------------------------------------------------------
# The layer table. One line per unit: layer number (0 = lowest), unit, the units it may use.
# A unit is a workspace crate (`crate:NAME`) or a top-level module of the root crate (`src/NAME`).
# A unit may use only what its line lists; everything it lists must be lower or on its own layer
# (checked below), so a `may use` that points up is itself an error.
# ---------------------------------------------------------------------------------------------
read -r -d '' TABLE <<'TABLE_END' || true
# layer unit                may use                          (DESIGN.md layer)
0  crate:cpu-contract       -                                # contract
1  crate:cpu-simulator      crate:cpu-contract               # simulator core
2  crate:cpu-gateway        crate:cpu-simulator crate:cpu-contract
# The root crate's top-level modules (each may also use the crates above it in this table).
# Leaves that several layers share: the request edge of both servers, logs/metrics, /docs.
2  src/http_edge            -
2  src/telemetry            -
2  src/docs_ui              -
# The sliding-window log behind both "N calls per window" rules (NxtPort budget, simulator).
2  src/sliding_window       -
# What the terminal emulations and the Data Sources adapters both speak (event model, EDIFACT).
2  src/terminals            -
3  src/nxtport              src/sliding_window               # nxtport client
3  src/connection           -                                # connection
4  src/store                src/connection src/terminals     # store
# The /v1 plumbing both HTTP faces of the gateway layer share: the error envelope with its one
# ErrorCode enum, the Caller extractor (token, quota, impersonation audit).
5  src/api                  src/store src/connection src/http_edge src/telemetry
# simulate: the simulator's HTTP face, terminal emulations, tick task; the sandbox pages are part
# of it (the face mounts them, they read its state): one layer, two modules.
5  src/simulate             src/terminals src/http_edge src/sandbox src/telemetry src/sliding_window
5  src/sandbox              src/simulate src/docs_ui src/http_edge
# gateway, sources: Data Sources and the console are mounted by the gateway's application.
6  src/sources              src/api src/store src/connection src/nxtport src/terminals src/http_edge src/telemetry
# gateway and console: one layer, two modules (the console is the gateway's HTML face: it reads
# the gateway's state and calls its operator service; the gateway mounts it).
7  src/console              src/gateway src/api src/store src/connection src/sources src/telemetry src/http_edge
7  src/gateway              src/api src/store src/connection src/nxtport src/simulate src/sources src/console src/http_edge src/docs_ui src/telemetry
# scenario: the runner QA uses (HTTP to a simulator, embedded or --target).
7  src/scenario             src/simulate
# Test support (temporary databases) and the command line, on top.
8  src/testenv              src/store
9  src/cli                  *
9  src/main                 *
TABLE_END

# ---------------------------------------------------------------------------------------------
# Known edges that point the wrong way, each with what removes it: debt, listed so it stays
# visible (the script says when a line is no longer used).   from  to   # why, and the fix
# ---------------------------------------------------------------------------------------------
read -r -d '' ALLOW <<'ALLOW_END' || true
ALLOW_END

# Units of the table that may be absent (a module being created on a branch); none today.
PENDING=""

fail=0
problem() { echo "layers: $*"; fail=1; }
die() { echo "layers: the check cannot run: $*"; exit 2; }

# --- the module edges of the root crate ------------------------------------------------------
# Prints `from to file:line` for every reference of a top-level module to another one: `crate::x`,
# `crate::{x, y::z}`, `super::x` that climbs to the crate root, and `cpu_gateway::x` (main.rs).
# Test modules (`#[cfg(test)] mod ... { }` and files called tests.rs) are left out.
module_edges() {
  perl -e '
    use strict; use warnings;
    my %top = map { $_ => 1 } split / /, shift @ARGV;
    for my $f (@ARGV) {
      next if $f =~ m{(^|/)tests(\.rs|/)};
      my @p = split m{/}, $f; shift @p;
      (my $unit = $p[0]) =~ s/\.rs$//;
      my $depth = @p; $depth-- if $p[-1] eq "mod.rs";
      open(my $fh, "<", $f) or die "$f: $!";
      my @lines = <$fh>; close $fh;
      my @keep;
      for (my $i = 0; $i < @lines; $i++) {
        if ($lines[$i] =~ /^\s*#\[cfg\(test\)\]\s*$/ && $i + 1 < @lines
            && $lines[$i + 1] =~ /^\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{/) {
          my $bal = 0; my $j = $i + 1;
          for (; $j < @lines; $j++) {
            my $l = $lines[$j];
            $bal += () = $l =~ /\{/g; $bal -= () = $l =~ /\}/g;
            last if $bal <= 0 && $l =~ /\}/;
          }
          push @keep, "\n" for $i .. $j; $i = $j; next;
        }
        push @keep, ($lines[$i] =~ m{^\s*//} ? "\n" : $lines[$i]);
      }
      my $text = join "", @keep;
      my $root = "super::" x $depth;
      while ($text =~ /(?<![\w:])(\$?crate::|\Q$root\E(?!super::)|cpu_gateway::)(\{|\w+)/g) {
        my ($start, $what) = ($-[0], $2);
        my $line = 1 + (() = substr($text, 0, $start) =~ /\n/g);
        my @heads;
        if ($what eq "{") {
          my $pos = pos($text); my $bal = 1; my $body = "";
          # Only the top level of the group: `crate::{a::{X, Y}, b}` names a and b.
          while ($bal > 0 && $pos < length $text) {
            my $c = substr($text, $pos++, 1);
            if ($c eq "{") { $bal++; next; }
            if ($c eq "}") { $bal--; next; }
            $body .= $c if $bal == 1;
          }
          @heads = map { /^\s*(\w+)/ ? $1 : () } split /,/, $body;
        } else {
          @heads = ($what);
        }
        for my $h (@heads) {
          print "$unit $h $f:$line\n" if $top{$h} && $h ne $unit;
        }
      }
    }
  ' "$@"
}

# --- the units that exist --------------------------------------------------------------------
mapfile -t sources < <(find src -name '*.rs' -type f | sort)
[ "${#sources[@]}" -gt 0 ] || die "no source files under src/"
modules=$(for f in "${sources[@]}"; do
  rel=${f#src/}; top=${rel%%/*}; top=${top%.rs}
  [ "$top" = lib ] || echo "$top"
done | sort -u)
[ -n "$modules" ] || die "no top-level module found"

if [ "${1:-}" = "--edges" ]; then
  module_edges "$(echo $modules)" "${sources[@]}" | sort -u -k1,2
  exit 0
fi

command -v cargo >/dev/null || die "cargo is missing"
members_tree=$(cargo tree --workspace -e normal --depth 0 --prefix none) || die "cargo tree failed"
crates=$(sed -n 's/^\([A-Za-z0-9_-]*\) v[^ ]* (\/.*$/\1/p' <<<"$members_tree" | sort -u)
[ -n "$crates" ] || die "cargo tree lists no workspace crate"

# --- the table, parsed and checked against what exists ----------------------------------------
declare -A LAYER USES
table_lines=$(sed 's/#.*//' <<<"$TABLE" | grep -v '^\s*$')
[ -n "$table_lines" ] || die "empty layer table"
while read -r layer unit uses; do
  [[ "$layer" =~ ^[0-9]+$ ]] || die "bad table line: $layer $unit $uses"
  [ -z "${LAYER[$unit]:-}" ] || die "$unit is placed twice in the table"
  LAYER[$unit]=$layer
  USES[$unit]=" $uses "
done <<<"$table_lines"

exists() {
  case "$1" in
    crate:*) grep -qx "${1#crate:}" <<<"$crates" ;;
    src/*) grep -qx "${1#src/}" <<<"$modules" ;;
    *) return 1 ;;
  esac
}
for unit in "${!LAYER[@]}"; do
  if ! exists "$unit"; then
    if [[ " $PENDING " == *" $unit "* ]]; then
      echo "layers: $unit does not exist yet (pending, removed at merge)"
    else
      problem "the table names $unit, which does not exist"
    fi
  fi
  for used in ${USES[$unit]}; do
    [ "$used" = "-" ] || [ "$used" = "*" ] && continue
    [ -n "${LAYER[$used]:-}" ] || { problem "$unit may use $used, which the table does not place"; continue; }
    [ "${LAYER[$used]}" -le "${LAYER[$unit]}" ] \
      || problem "the table lets $unit (layer ${LAYER[$unit]}) use $used (layer ${LAYER[$used]}): that points up"
  done
done
for c in $crates; do [ -n "${LAYER[crate:$c]:-}" ] || problem "crate $c exists but the table does not place it"; done
for m in $modules; do [ -n "${LAYER[src/$m]:-}" ] || problem "module src/$m exists but the table does not place it"; done

allowed_edge() { # from to: in the table, or in the allow-list
  local from=$1 to=$2
  [[ "${USES[$from]:-}" == *" * "* || "${USES[$from]:-}" == *" $to "* ]] && return 0
  grep -v '^\s*#' <<<"$ALLOW" | awk -v f="$from" -v t="$to" '$1 == f && $2 == t { found = 1 } END { exit !found }'
}
explain() { # from to
  local lf=${LAYER[$1]:-?} lt=${LAYER[$2]:-?}
  if [ "$lf" != "?" ] && [ "$lt" != "?" ] && [ "$lt" -gt "$lf" ]; then echo "points up (layer $lf -> $lt)"
  else echo "not in the table (layer $lf -> $lt)"; fi
}

# --- crates: direct workspace dependencies, and HTTP/SQL crates kept out of the lower crates ---
for c in $crates; do
  tree=$(cargo tree -p "$c" -e normal --prefix none) || die "cargo tree -p $c failed"
  grep -q "^serde v" <<<"$tree" || die "cannot read the dependency tree of $c (no serde in it)"
  direct=$(cargo tree -p "$c" -e normal --depth 1 --prefix none) || die "cargo tree -p $c failed"
  for dep in $(sed -n 's/^\([A-Za-z0-9_-]*\) v[^ ]* (\/.*$/\1/p' <<<"$direct" | sort -u); do
    [ "$dep" = "$c" ] && continue
    grep -qx "$dep" <<<"$crates" || continue
    if allowed_edge "crate:$c" "crate:$dep"; then echo "  crate $c -> $dep"
    else problem "crate $c depends on $dep: $(explain "crate:$c" "crate:$dep")"; fi
  done
  case "$c" in
    cpu-simulator | cpu-contract)
      # The simulator core and the contract know nothing of HTTP, SQL (or OpenAPI, for the core).
      forbidden="actix-web reqwest sqlx"
      [ "$c" = cpu-simulator ] && forbidden="$forbidden utoipa"
      for x in $forbidden; do
        grep -q "^$x v" <<<"$tree" && problem "crate $c must not depend on $x"
      done
      ;;
  esac
done

# --- modules of the root crate ---------------------------------------------------------------
edges=$(module_edges "$(echo $modules)" "${sources[@]}") || die "reading the sources failed"
[ -n "$edges" ] || die "no reference between modules found (the reader is broken)"
checked=0
while read -r from to where; do
  checked=$((checked + 1))
  allowed_edge "src/$from" "src/$to" || problem "$where: src/$from uses src/$to: $(explain "src/$from" "src/$to")"
done <<<"$edges"
echo "  $(wc -l <<<"$edges") module references read ($(sort -u -k1,2 <<<"$edges" | awk '{print $1, $2}' | sort -u | wc -l) distinct edges)"

# --- SQL lives in the store only ------------------------------------------------------------
# Outside src/store (and src/testenv, which creates the tests' PostgreSQL schemas) no code names
# sqlx or reaches the pool, tests included: every table is read and written through the store's
# typed methods (what only a test asks is in src/store/testing.rs). examples/ are left out: the
# load tools there create and drop their own PostgreSQL schema and read no table.
rust_roots=$(for d in src tests benches simulator crates; do [ -d "$d" ] && echo "$d"; done)
sql_users=$(grep -rn --include='*.rs' -E '\bsqlx::|\.pool\(\)' $rust_roots \
  | grep -v -e '^src/store/' -e '^src/testenv\.rs:' | grep -v -E '^[^:]+:[0-9]+:\s*//' || true)
while read -r hit; do
  [ -n "$hit" ] && problem "${hit%%:*}: SQL outside src/store (use a typed store method): ${hit#*:}"
done <<<"$sql_users"

# An allow-list line whose edge no longer exists is stale: say so (the coordinator prunes it).
while read -r from to _; do
  [ -n "$from" ] || continue
  grep -q "^${from#src/} ${to#src/} " <<<"$edges" || echo "layers: allow-list edge $from -> $to is no longer used: remove it"
done < <(grep -v '^\s*#' <<<"$ALLOW" | grep -v '^\s*$')

if [ "$fail" -ne 0 ]; then
  echo "layers: FAILED (a dependency points the wrong way, or the table is out of date)"
  exit 1
fi
echo "layers: ok ($checked references, $(wc -w <<<"$crates") crates, $(wc -w <<<"$modules") modules)"

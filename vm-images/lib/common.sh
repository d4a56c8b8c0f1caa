# shellcheck shell=bash
# Helpers shared by the vm-images build steps: progress, recipe hashing, an
# artefact cache that is written atomically, and the checks that name a failed step.

LAB_STEP="${LAB_STEP:-build}"
LAB_T0=${LAB_T0:-$(date +%s)}

say() { printf '[ltsp-lab build %4ss] %s: %s\n' "$(( $(date +%s) - LAB_T0 ))" "$LAB_STEP" "$*" >&2; }
die() { printf '[ltsp-lab build] FAILED step %s: %s\n' "$LAB_STEP" "$*" >&2; exit 1; }

# Run a long command, showing its last output line every few seconds as progress and
# keeping the whole output in a log that is printed (tail) when it fails.
run_logged() {
  local log="$1"; shift
  say "$*"
  # fd 9 is the cache lock: a child that outlives a killed build must not keep holding it.
  "$@" >"$log" 2>&1 9>&- &
  local pid=$! last="" rc
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    local line
    line=$(tail -n 1 "$log" 2>/dev/null | tr -d '\r' | cut -c1-110)
    if [ -n "$line" ] && [ "$line" != "$last" ]; then say "... $line"; last="$line"; fi
  done
  if wait "$pid"; then rc=0; else rc=$?; fi
  if [ "$rc" -ne 0 ]; then
    tail -n 25 "$log" | sed 's/^/    | /' >&2
    die "command failed (exit $rc): $* (full log: $log)"
  fi
}

# Hash exactly the recipe files an artefact is made from: their relative paths,
# modes and contents, plus any extra strings (the keys of what it is built on).
recipe_hash() {
  local extra="$1"; shift
  {
    printf '%s\n' "$extra"
    local f
    for f in "$@"; do
      [ -e "$f" ] || die "recipe file missing: $f"
      [ -r "$f" ] || die "recipe file unreadable: $f"
      if [ -d "$f" ]; then
        # One stat and one sha256sum for the whole folder (a fork per file cost ~1 s
        # on every ./lab call); the lines are the same "path mode sha" as one per file.
        (cd "$f" || exit 1
         local files=() g
         mapfile -d '' files < <(find . -type f -print0 | LC_ALL=C sort -z)
         [ ${#files[@]} -gt 0 ] || exit 0
         for g in "${files[@]}"; do [ -r "$g" ] || { echo "unreadable $f/$g"; exit 1; }; done
         paste -d' ' <(printf '%s\n' "${files[@]}") <(stat -c %a -- "${files[@]}") <(sha256sum -- "${files[@]}" | cut -c1-64)
        ) || die "recipe folder unreadable: $f"
      else
        printf '%s %s %s\n' "$(basename "$f")" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"
      fi
    done
  } | sha256sum | cut -c1-16
}

# Fail early, naming the step, when a folder's filesystem has less room than a step needs.
need_space() {
  local dir="$1" mib="$2" have
  mkdir -p "$dir" 2>/dev/null || die "cannot create $dir"
  have=$(df -Pm "$dir" | awk 'NR==2 {print $4}')
  [ -n "$have" ] || die "cannot read free space of $dir"
  if [ "$have" -lt "$mib" ]; then
    die "not enough disk space in $dir: this step needs ${mib} MiB, ${have} MiB free. Free some space or point LTSP_LAB_CACHE elsewhere."
  fi
}

# The cache: an artefact is a folder <cache>/<name>-<key>. It is built in a
# temporary folder beside it and renamed into place only when complete, so a failed
# or interrupted build leaves nothing that looks finished.
# cache_begin sets CACHE_TMP rather than printing it: called in $(...), its note in
# LAB_TMP_DIRS would be lost with the subshell and a failed build would leave the folder.
LAB_TMP_DIRS=()
CACHE_TMP=""
cache_begin() {  # sets CACHE_TMP to the temp folder to build into
  local final="$1"
  CACHE_TMP="$(dirname "$final")/.tmp-$(basename "$final")-$$"
  LAB_TMP_DIRS+=("$CACHE_TMP")
  rm -rf "$CACHE_TMP"
  mkdir -p "$CACHE_TMP" || die "cannot create $CACHE_TMP"
}
cache_commit() {
  local tmp="$1" final="$2"
  sync -f "$tmp" 2>/dev/null || true
  rm -rf "$final"
  mv "$tmp" "$final" || die "cannot move $tmp to $final"
}
cache_cleanup() {
  local d
  for d in "${LAB_TMP_DIRS[@]}"; do [ -e "$d" ] && rm -rf "$d"; done
  return 0
}

# The artefacts --rebuild named, each between spaces (" root kernel ").
LAB_REBUILD=" "
# What every finished artefact folder goes through before it is used: dropped when
# --rebuild names its artefact, or when DAMAGE-COMMAND prints what is wrong with it
# (after `--heal FN` had its chance: FN gets what is wrong, and returns 0 once it has
# mended it). A folder that stays is whole, and the caller says it is cached.
drop_if_stale() {  # [--heal FN] artefact dir damage-command...
  local heal="" artefact dir damage
  if [ "$1" = --heal ]; then heal="$2"; shift 2; fi
  artefact="$1" dir="$2"; shift 2
  [ -d "$dir" ] || return 0
  if [[ $LAB_REBUILD == *" $artefact "* ]]; then say "rebuilding $dir (--rebuild $artefact)"; rm -rf "$dir"; return 0; fi
  damage=$("$@")
  if [ -n "$damage" ] && [ -n "$heal" ] && "$heal" "$damage"; then damage=$("$@"); fi
  if [ -n "$damage" ]; then say "$dir is damaged ($damage): rebuilding it"; rm -rf "$dir"; fi
  return 0
}
# The first FILE missing or empty in DIR, as "FILE is missing", or nothing.
missing_file() {  # dir file...
  local dir="$1" f; shift
  for f in "$@"; do [ -s "$dir/$f" ] || { printf '%s is missing' "$f"; return 0; }; done
}

# The Debian mirror: the one this host's apt uses, unless LTSP_LAB_MIRROR says otherwise.
debian_mirror() {
  if [ -n "${LTSP_LAB_MIRROR:-}" ]; then printf '%s\n' "$LTSP_LAB_MIRROR"; return; fi
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | awk '{print $2}' | grep -v security | head -n 1)
  [ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n 1)
  [ -n "$m" ] || die "no Debian mirror found in this host's apt sources; set LTSP_LAB_MIRROR"
  printf '%s\n' "$m"
}

docker_has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Every container a build runs is named after the build's pid and carries the labels the
# harness passes (LTSP_LAB_LABELS: the run id and its owner), so that the build's EXIT
# trap removes it, and `./lab clean` does once the build is dead (docker's own client
# leaves a `docker run` container running when it is killed).
LAB_CONTAINERS=()
CONTAINER_ARGS=()
container_args() {  # artefact: sets CONTAINER_ARGS to the name and labels of a new container
  local name="ltsp-lab-build-$1-$$" l
  LAB_CONTAINERS+=("$name")
  CONTAINER_ARGS=(--name "$name" --label "ltsp-lab.artefact=$1")
  for l in ${LTSP_LAB_LABELS:-}; do CONTAINER_ARGS+=(--label "$l"); done
}
containers_cleanup() {
  [ ${#LAB_CONTAINERS[@]} -gt 0 ] || return 0
  docker rm -f "${LAB_CONTAINERS[@]}" >/dev/null 2>&1 || true
  LAB_CONTAINERS=()
}

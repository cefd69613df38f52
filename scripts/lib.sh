# shellcheck shell=bash
# Helpers shared by scripts/test and scripts/demo. Source it; it defines functions and
# variables only and changes nothing by itself.
#
#   REPO   the repository root (this file's ../)
#   VENV   $REPO/.venv-test: the Python venv with moto (fake STS/IAM) and the aws CLI

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-test"

# Debian packages the test suite needs: real shells, a real terminal, shellcheck, both
# keyrings (kernel keyutils; Secret Service via gnome-keyring on a private D-Bus), python3
# with venv support for moto, and libfaketime (a clock set back, per process).
ASSUME_DEBS=(
  zsh fish tmux shellcheck keyutils gnome-keyring dbus dbus-x11 libsecret-tools
  python3 python3-venv faketime
)

# Python packages for $VENV (pinned; the stamp file below records this exact list).
ASSUME_VENV_REQUIREMENTS=(
  'moto[server]==5.2.5'
  'flask<4'
  'flask-cors<7'
  'awscli==1.46.3'
)

# Set by start_moto, read by the scripts that source this file. (Not MOTO_PORT & co.:
# moto_server itself reads MOTO_* variables from its environment.)
# shellcheck disable=SC2034
ASSUME_MOTO_PID="" ASSUME_MOTO_PORT="" ASSUME_MOTO_ENDPOINT=""

# stage NAME...: announce a step on stderr.
stage() {
  printf '\n==> %s\n' "$*" >&2
}

# ensure_debs: as root with apt-get, install whichever of ASSUME_DEBS is missing.
# Does nothing (silently) when not root, without apt-get, or when all are installed.
ensure_debs() {
  [[ $(id -u) -eq 0 ]] || return 0
  command -v apt-get >/dev/null 2>&1 || return 0
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local pkg missing=()
  for pkg in "${ASSUME_DEBS[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} > 0)) || return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# ensure_venv: create $VENV with moto + awscli unless its stamp already matches
# ASSUME_VENV_REQUIREMENTS (then it costs one file read).
ensure_venv() {
  local stamp="$VENV/.assume-requirements" want
  want="$(printf '%s\n' "${ASSUME_VENV_REQUIREMENTS[@]}")"
  if [[ -f $stamp && -x $VENV/bin/python && $(<"$stamp") == "$want" ]] &&
    "$VENV/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  echo "preparing $VENV (moto, awscli)" >&2
  if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    # Missing, or broken (e.g. the python it was made from is gone): (re)create it.
    command -v python3 >/dev/null 2>&1 || {
      echo "python3 is missing (Debian: apt-get install python3 python3-venv)" >&2
      return 1
    }
    python3 -m venv --clear "$VENV"
  fi
  PIP_NO_INPUT=1 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "${ASSUME_VENV_REQUIREMENTS[@]}" >&2
  printf '%s\n' "$want" >"$stamp"
}

# with_private_keyring CMD...: run CMD inside a fresh kernel session keyring (keyutils) and
# a private D-Bus session with an unlocked gnome-keyring (Secret Service), so nothing touches
# the caller's own keyrings. Parts whose tools are missing (or, for keyctl, not permitted
# here) are left out, with a note on stderr. Sets ASSUME_PRIVATE_KEYRING=1 for CMD (=0 when
# neither part was available).
with_private_keyring() {
  local prefix=() kr="" rc=0
  if command -v keyctl >/dev/null 2>&1 && keyctl session - true >/dev/null 2>&1; then
    prefix+=(keyctl session -)
  else
    echo "(no usable keyctl: running without a private kernel session keyring)" >&2
  fi
  if command -v dbus-run-session >/dev/null 2>&1 &&
    command -v gnome-keyring-daemon >/dev/null 2>&1; then
    kr="$(mktemp -d "${TMPDIR:-/tmp}/assume-keyring.XXXXXX")"
    # Inside the private bus: start the daemon in the foreground (so its pid is known and it
    # is stopped afterwards; daemonized, it sometimes outlives the bus), keyrings in
    # $XDG_DATA_HOME/keyrings (not $HOME, so cargo's home stays put), unlocked with a dummy
    # password; wait (bounded) for the GNOME_KEYRING_CONTROL line; run CMD; stop the daemon.
    # shellcheck disable=SC2016 # expanded by the inner sh
    prefix+=(env ASSUME_KEYRING_DATA="$kr" dbus-run-session -- sh -c '
      kr=$ASSUME_KEYRING_DATA
      unset ASSUME_KEYRING_DATA
      printf %s assume-test >"$kr/password"
      XDG_DATA_HOME="$kr" gnome-keyring-daemon --foreground --unlock --components=secrets \
        <"$kr/password" >"$kr/env" 2>"$kr/daemon.log" &
      daemon=$!
      trap "kill $daemon 2>/dev/null; exit 130" INT TERM
      i=0
      until grep -q "^GNOME_KEYRING_CONTROL=" "$kr/env"; do
        i=$((i + 1))
        if [ "$i" -gt 1000 ] || ! kill -0 "$daemon" 2>/dev/null; then
          echo "gnome-keyring-daemon did not start:" >&2
          cat "$kr/daemon.log" >&2
          exit 1
        fi
        sleep 0.01
      done
      GNOME_KEYRING_CONTROL=$(sed -n "s/^GNOME_KEYRING_CONTROL=//p" "$kr/env")
      export GNOME_KEYRING_CONTROL
      rc=0
      "$@" || rc=$?
      kill "$daemon" 2>/dev/null
      wait "$daemon" 2>/dev/null
      exit "$rc"' sh)
  else
    echo "(no dbus-run-session/gnome-keyring-daemon: running without a private Secret Service)" >&2
  fi
  local private=1
  ((${#prefix[@]} > 0)) || private=0
  ASSUME_PRIVATE_KEYRING="$private" "${prefix[@]}" "$@" || rc=$?
  [[ -z $kr ]] || rm -rf "$kr"
  return "$rc"
}

# start_moto DIR: start moto_server on a free loopback port, log in DIR/moto.log, and wait
# (bounded, 20 s) until GET /moto-api/ answers 200.
# Sets ASSUME_MOTO_PID, ASSUME_MOTO_PORT, ASSUME_MOTO_ENDPOINT.
start_moto() {
  local log="$1/moto.log" i line
  ASSUME_MOTO_PORT=""
  ASSUME_MOTO_ENDPOINT=""
  "$VENV/bin/moto_server" -H 127.0.0.1 -p 0 >"$log" 2>&1 </dev/null &
  ASSUME_MOTO_PID=$!
  for ((i = 0; i < 400; i++)); do # 400 polls x 50 ms = 20 s
    if ! kill -0 "$ASSUME_MOTO_PID" 2>/dev/null; then
      echo "moto_server exited; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    if [[ -z $ASSUME_MOTO_PORT ]]; then
      ASSUME_MOTO_PORT="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)"
    fi
    if [[ -n $ASSUME_MOTO_PORT ]] && line="$(_moto_status_line "$ASSUME_MOTO_PORT")" && [[ $line == *" 200 "* ]]; then
      # shellcheck disable=SC2034 # read by the caller
      ASSUME_MOTO_ENDPOINT="http://127.0.0.1:$ASSUME_MOTO_PORT"
      return 0
    fi
    sleep 0.05
  done
  echo "moto_server did not become ready within 20 s; its log:" >&2
  cat "$log" >&2
  return 1
}

# _moto_status_line PORT: the status line of GET /moto-api/ (plain bash, no curl).
_moto_status_line() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 2 line <&3 || exit 1
    printf '%s\n' "${line%$'\r'}"
  ) 2>/dev/null
}

# stop_moto: stop the moto_server started by start_moto (idempotent).
stop_moto() {
  if [[ -n ${ASSUME_MOTO_PID:-} ]]; then
    kill "$ASSUME_MOTO_PID" 2>/dev/null || true
    wait "$ASSUME_MOTO_PID" 2>/dev/null || true
    ASSUME_MOTO_PID=""
  fi
}

# unset_aws_env: forget every AWS_* variable inherited from the caller.
unset_aws_env() {
  local v
  while IFS= read -r v; do
    unset "$v"
  done < <(compgen -e | grep '^AWS_' || true)
}

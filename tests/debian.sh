# Sourced by tests/run.sh and tests/bench.sh: Debian packages they need.

# librdkafka is built from source by its own configure + make (a C
# compiler and make are on the machine); TLS needs OpenSSL's headers.
LIBRDKAFKA_BUILD_DEPS="libssl-dev pkg-config"

# Installs those of "$@" that are missing: a name counts as present when
# it is a command on PATH or an installed package.
install_debian() {
  local missing="" p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  [ -n "$missing" ] || return 0
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

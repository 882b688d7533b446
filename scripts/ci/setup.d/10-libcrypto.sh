# shellcheck shell=bash
# OpenSSL's libcrypto headers: the tests build the device store with SQLCipher
# (device-store feature `encryption`), which links the system's libcrypto.
# Sourced by scripts/test.sh before the first cargo build; installs the Debian
# package when missing (root only).
if ! dpkg -s libssl-dev >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "libssl-dev missing and not root: install it (SQLCipher links libcrypto)" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  ssl_install() {
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 libssl-dev pkg-config
  }
  ssl_install || { apt-get update -o DPkg::Lock::Timeout=600 && ssl_install; }
fi
echo "libcrypto: $(dpkg -s libssl-dev 2>/dev/null | sed -n 's/^Version: //p')"

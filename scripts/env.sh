# Sourced by the other scripts: puts the Node that setup.sh fetched (if it did) first on PATH.
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$_root/.toolchain/node/bin/node" ]; then
  export PATH="$_root/.toolchain/node/bin:$PATH"
fi
unset _root

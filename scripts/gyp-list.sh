# Sourced by the shell scripts that build C++ outside node-gyp (scripts/native-tests.sh, bench/native/run.sh):
# gyp_list ARRAY sources|flags TARGET [ARCH] fills ARRAY with binding.gyp's list (scripts/gyp-targets.js).
gyp_list() {
  local text
  text=$(node "$(dirname "${BASH_SOURCE[0]}")/gyp-targets.js" "${@:2}") || exit 1
  mapfile -t "$1" <<< "$text"
}

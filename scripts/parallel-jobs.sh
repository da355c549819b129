# Sourced by the shell scripts that compile outside node-gyp (scripts/native-tests.sh, bench/native/run.sh):
# at most LOWBIT_JOBS (default 2: CI's machine has two cores) background jobs at a time, a new one started
# as soon as any of them ends (not the oldest: the kernel families' units differ tenfold in compile time).
# Under `set -e` a job that fails stops the script when it is reaped.
jobs_running=()
# Waits until fewer than $1 jobs run.
reap_jobs() {
  local i
  while [ ${#jobs_running[@]} -ge "$1" ]; do
    for i in "${!jobs_running[@]}"; do
      if ! kill -0 "${jobs_running[$i]}" 2>/dev/null; then
        wait "${jobs_running[$i]}"
        unset 'jobs_running[i]'
      fi
    done
    jobs_running=("${jobs_running[@]}")
    if [ ${#jobs_running[@]} -ge "$1" ]; then sleep 0.1; fi
  done
}
# Runs its arguments in the background once a slot is free.
start_job() {
  reap_jobs "${LOWBIT_JOBS:-2}"
  "$@" &
  jobs_running+=($!)
}
# Waits for every job.
wait_jobs() { reap_jobs 1; }

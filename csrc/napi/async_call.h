// The one way an async entry point runs: arguments validated and pinned (pinned.h) on the JS thread,
// the work on a libuv thread under a Work (progress, cancellation), the promise settled back on the
// JS thread. Whatever happens to the environment meanwhile (a worker terminated, the process
// exiting), settling never throws out of the completion callback: where JavaScript can no longer
// run, the results are dropped and the job freed.
//
// Node waits for work already running on its threads before it tears an environment down, so a
// terminated worker's calls finish (they are not interrupted: Node-API reports the teardown only
// after they end); an AbortSignal is the way to stop one early.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <utility>

#include "../runtime/work.h"
#include "args.h"

namespace lowbit::napi {

class AsyncJob {
 public:
  virtual ~AsyncJob() = default;
  // Off the JS thread, with `work` current (so the thread pool stops when it is cancelled). Returns
  // "" or the message of a RangeError to reject with.
  virtual std::string execute(Work& work) = 0;
  // On the JS thread after a successful execute: commits outputs and returns the value to resolve
  // with; a Napi::Error thrown here rejects instead.
  virtual Napi::Value settle(Napi::Env env) = 0;
  // On the JS thread when the call rejects because it was cancelled, which may be after execute
  // finished (the cancel came in between): undo what execute changed outside its own results.
  virtual void aborted() {}
};

// Queues `job` and returns { promise, cancel(), progress() }: cancel() asks the work to stop (the
// promise then rejects with an Error whose code is 'ABORT_ERR'), progress() is the fraction done.
// lib/core/async.ts turns this into the public options { signal, onProgress }.
Napi::Value queue_async(Napi::Env env, const char* name, std::unique_ptr<AsyncJob> job);

// The sync variant of an entry point: the job made from the call's arguments (`args` after `info`), run
// on the JS thread and settled at once; an error execute() reports is a RangeError, as its async
// variant's rejection is.
template <typename Job, typename... Args>
Napi::Value run_sync(const Napi::CallbackInfo& info, Args&&... args) {
  Job job(info, std::forward<Args>(args)...);
  Work work;  // reports to no one, never cancelled
  const std::string err = job.execute(work);
  if (!err.empty()) throw_range_error(info.Env(), err);
  return job.settle(info.Env());
}

}  // namespace lowbit::napi

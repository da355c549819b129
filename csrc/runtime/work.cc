#include "work.h"

#include <algorithm>

namespace lowbit {
namespace {

thread_local Work* tls_work = nullptr;

}  // namespace

double Work::fraction() const {
  const int64_t t = total_.load(std::memory_order_relaxed);
  if (t <= 0) return 0.0;
  return std::min(1.0, static_cast<double>(done_.load(std::memory_order_relaxed)) / static_cast<double>(t));
}

Work* Work::current() { return tls_work; }

Work::Scope::Scope(Work* w) : saved_(tls_work) { tls_work = w; }
Work::Scope::~Scope() { tls_work = saved_; }

}  // namespace lowbit

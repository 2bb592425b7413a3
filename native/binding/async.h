#pragma once
// Runs heavy native work off the event loop and settles a Promise.
//   compute(): worker thread, may throw anything; returns a Result (movable).
//   to_js(env, Result&&): main thread, converts the result into JS values.
#include "binding/errors.h"

#include <ATen/Parallel.h>
#include <napi.h>

#include <functional>
#include <memory>
#include <optional>

namespace l0sparse::binding {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Compute = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&&)>;

  PromiseWorker(Napi::Env env, const char* name, Compute compute, ToJs to_js)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)),
        compute_(std::move(compute)), to_js_(std::move(to_js)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      // libuv's pool threads keep the thread count LibTorch gave them at their first parallel call; apply the
      // current setNumThreads() value before every call so that it holds for all of them.
      at::init_num_threads();
      result_.emplace(compute_());
    } catch (...) {
      SetError(describe_exception(std::current_exception()));
    }
  }
  // Neither callback may throw: when the environment is shutting down (a worker_thread terminated while
  // this call ran) every N-API call fails, and an exception escaping here would abort the process.
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(to_js_(env, std::move(*result_)));
    } catch (...) {
      reject_quietly(std::current_exception());
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(e.Value());
    } catch (...) {
      // The environment is gone; nobody is left to receive the rejection.
    }
  }

 private:
  void reject_quietly(std::exception_ptr ep) {
    try {
      try {
        std::rethrow_exception(ep);
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      } catch (...) {
        deferred_.Reject(Napi::Error::New(Env(), describe_exception(std::current_exception())).Value());
      }
    } catch (...) {
      // The environment is gone; nobody is left to receive the rejection.
    }
  }

  Napi::Promise::Deferred deferred_;
  Compute compute_;
  ToJs to_js_;
  std::optional<Result> result_;
};

template <typename Result>
Napi::Promise run_async(Napi::Env env, const char* name, typename PromiseWorker<Result>::Compute compute,
                        typename PromiseWorker<Result>::ToJs to_js) {
  auto* worker = new PromiseWorker<Result>(env, name, std::move(compute), std::move(to_js));
  Napi::Promise promise = worker->promise();
  worker->Queue();  // the worker deletes itself after settling
  return promise;
}

}  // namespace l0sparse::binding

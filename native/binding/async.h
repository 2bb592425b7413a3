#pragma once
// Runs heavy native work off the event loop and settles a Promise.
//   compute(): worker thread, may throw anything; returns a Result (movable).
//   to_js(env, Result&&): main thread, converts the result into JS values.
#include "binding/errors.h"

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
      result_.emplace(compute_());
    } catch (...) {
      SetError(describe_exception(std::current_exception()));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(to_js_(env, std::move(*result_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(Napi::Error::New(env, describe_exception(std::current_exception())).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
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

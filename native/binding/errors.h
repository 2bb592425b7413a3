#pragma once
// Every C++ exception becomes a JS Error; nothing escapes into N-API (which would abort the process).
#include <napi.h>

#include <c10/util/Exception.h>

#include <exception>
#include <string>
#include <utility>

namespace l0sparse::binding {

// Message of any exception; c10::Error without its C++ backtrace.
std::string describe_exception(std::exception_ptr ep);

// Wraps a synchronous N-API callback so that any C++ exception is thrown as a JS Error.
template <typename Fn>
Napi::Value guarded(const Napi::CallbackInfo& info, Fn&& fn) {
  try {
    return fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(info.Env(), describe_exception(std::current_exception()));
  }
}

#define L0SPARSE_SYNC(fn) \
  [](const Napi::CallbackInfo& info) -> Napi::Value { return ::l0sparse::binding::guarded(info, fn); }

}  // namespace l0sparse::binding

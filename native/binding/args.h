#pragma once
// Argument and option readers shared by every binding file: each checks the JS type and range and throws
// a JS TypeError/RangeError naming the argument or option, so a bad call is an Error, never a crash.
// (CSR arguments: csr_args.h; tensors: tensors.h.)
#include <napi.h>

#include <cstdint>
#include <string>

namespace l0sparse::binding {

// Argument `index` (0-based) as an options object.
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t index, const std::string& what);
// Argument `index` as a non-empty string ("<what> must be a non-empty string").
std::string string_arg(const Napi::CallbackInfo& info, size_t index, const std::string& what);
// A value that must be an integer in [lo, hi] ("<what> must be an integer in [lo, hi]").
int64_t integer_value(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi);

// Options of an object; undefined = absent = fallback.
int64_t int_option(const Napi::Object& obj, const char* key, int64_t fallback, int64_t lo, int64_t hi);
// A required integer option in [lo, hi]; `what` names the call in the error when it is missing.
int64_t required_int_option(const Napi::Object& obj, const char* key, int64_t lo, int64_t hi, const std::string& what);
double number_option(const Napi::Object& obj, const char* key, double fallback);
bool bool_option(const Napi::Object& obj, const char* key, bool fallback);
std::string string_option(const Napi::Object& obj, const char* key, const std::string& fallback);

// The document activation: "relu" -> 0 extra logs; "l0" -> k extra logs (option `k`, default 1).
int activation_option(const Napi::Object& obj);

}  // namespace l0sparse::binding

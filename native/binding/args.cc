#include "binding/args.h"

#include <cmath>

namespace l0sparse::binding {

Napi::Object object_arg(const Napi::CallbackInfo& info, size_t index, const std::string& what) {
  if (info.Length() <= index || !info[index].IsObject())
    throw Napi::TypeError::New(info.Env(), what + ": expected an options object as argument " + std::to_string(index + 1));
  return info[index].As<Napi::Object>();
}

std::string string_arg(const Napi::CallbackInfo& info, size_t index, const std::string& what) {
  if (info.Length() <= index || !info[index].IsString() || info[index].As<Napi::String>().Utf8Value().empty())
    throw Napi::TypeError::New(info.Env(), what + " must be a non-empty string");
  return info[index].As<Napi::String>().Utf8Value();
}

int64_t integer_value(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi) && d == std::floor(d)))
    throw Napi::RangeError::New(v.Env(), what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int64_t>(d);
}

int64_t int_option(const Napi::Object& obj, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  return integer_value(v, std::string("option '") + key + "'", lo, hi);
}

int64_t required_int_option(const Napi::Object& obj, const char* key, int64_t lo, int64_t hi, const std::string& what) {
  if (obj.Get(key).IsUndefined())
    throw Napi::TypeError::New(obj.Env(), what + ": '" + key + "' is required (an integer in [" + std::to_string(lo) + ", " +
                                              std::to_string(hi) + "])");
  return int_option(obj, key, lo, lo, hi);
}

double number_option(const Napi::Object& obj, const char* key, double fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    throw Napi::TypeError::New(obj.Env(), std::string("option '") + key + "' must be a finite number");
  return v.As<Napi::Number>().DoubleValue();
}

bool bool_option(const Napi::Object& obj, const char* key, bool fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(obj.Env(), std::string("option '") + key + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string string_option(const Napi::Object& obj, const char* key, const std::string& fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(obj.Env(), std::string("option '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int activation_option(const Napi::Object& obj) {
  std::string name = string_option(obj, "activation", "l0");
  if (name == "relu") return 0;
  if (name == "l0") return static_cast<int>(int_option(obj, "k", 1, 1, 3));
  throw Napi::RangeError::New(obj.Env(), "option 'activation' must be 'relu' or 'l0', got '" + name + "'");
}

}  // namespace l0sparse::binding

#pragma once
// Each binding file registers its exports with a static Registrar, so files can be added without
// touching a central list:   static Registrar reg("sparseHead", InitSparseHead);
#include <napi.h>

#include <vector>

namespace l0sparse::binding {

using InitFn = void (*)(Napi::Env, Napi::Object);

std::vector<InitFn>& registry();

struct Registrar {
  explicit Registrar(InitFn fn) { registry().push_back(fn); }
};

}  // namespace l0sparse::binding

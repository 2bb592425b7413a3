// libFuzzer target: the strict JSON parser (native/model/json.cc) behind config.json, safetensors headers
// and model.safetensors.index.json. Parse must succeed or raise c10::Error; an accepted document must
// dump and re-parse to the same text (the writer and the parser agree).
#include "model/json.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <string_view>

using namespace l0sparse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json::Value v;
  try {
    v = json::parse(text, "fuzz");
  } catch (const c10::Error&) {
    return 0;
  }
  const std::string once = json::dump(v, 0);
  try {
    const std::string twice = json::dump(json::parse(once, "fuzz-dump"), 0);
    if (twice != once) abort();  // dump -> parse -> dump is not stable
  } catch (const c10::Error&) {
    abort();  // the parser rejects what the writer wrote
  }
  return 0;
}

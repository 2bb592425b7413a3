// libFuzzer target: the safetensors reader (native/model/safetensors.cc). Every input is a candidate file;
// it must parse or raise c10::Error (the reader's only error type), never crash, never allocate from
// unchecked header numbers (ASan's allocation limit catches a huge allocation as an error report).
#include "fuzz/fuzz_util.h"
#include "model/safetensors.h"

#include <c10/util/Exception.h>

using namespace l0sparse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_path("safetensors");
  fuzz::write_file(path, data, size);
  try {
    model::SafetensorsFile f = model::read_safetensors(path);
    for (const auto& [name, t] : f.tensors) {
      if (t.numel() > 0) (void)t.view(-1).select(0, t.numel() - 1).item();  // the last element is readable
    }
  } catch (const c10::Error&) {
  }
  return 0;
}

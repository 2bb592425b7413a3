#pragma once
// See native/gloo/README.md: names torch's ProcessGroupGloo.hpp needs; Gloo itself lives in libtorch.
namespace gloo {}

#pragma once
// See native/gloo/README.md.
namespace gloo {}

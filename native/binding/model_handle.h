#pragma once
// JS handles of native masked-LM models (lib/encoder/native-model.ts holds them). Other bindings (the
// trainer) take the same handle to work on the same parameters.
#include "model/mlm_model.h"

#include <napi.h>

#include <memory>
#include <string>

namespace l0sparse::binding {

// Wraps a model in a type-tagged External; the model lives while the handle or any worker holds it.
Napi::Value make_model_handle(Napi::Env env, std::shared_ptr<model::MlmModel> model);

// The model behind a handle; throws a JS TypeError for anything that is not one, and an Error once the
// handle was disposed. `what` names the argument in messages.
std::shared_ptr<model::MlmModel> model_from_handle(const Napi::Value& handle, const std::string& what);

}  // namespace l0sparse::binding

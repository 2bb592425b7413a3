// SparseIndexNative: the inverted index (native/index) as a JS class. add/stats/idsAt are synchronous
// (cheap copies); build/search/save/load run on a worker thread and return Promises. Searches share the
// index (shared lock); build takes it exclusively; add refuses to wait on the event loop and reports a
// busy index instead.
#include "binding/args.h"
#include "binding/async.h"
#include "binding/csr_args.h"
#include "binding/errors.h"
#include "binding/registry.h"
#include "index/batch_search.h"
#include "index/index_file.h"
#include "index/inverted_index.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace l0sparse::binding {
namespace {

struct SharedIndex {
  explicit SharedIndex(index::InvertedIndex i) : index(std::move(i)) {}
  index::InvertedIndex index;
  std::shared_mutex mutex;
};
using IndexPtr = std::shared_ptr<SharedIndex>;

// Marks the External that load() passes to the constructor, so no other External is ever taken for it.
constexpr napi_type_tag kLoadedIndexTag = {0x6c30737061727365ULL, 0x696e646578746167ULL};

// The class constructor of each JS environment (main thread and worker_threads each load the addon).
std::mutex constructors_mutex;
std::unordered_map<napi_env, Napi::FunctionReference*> constructors;

class SparseIndexWrap : public Napi::ObjectWrap<SparseIndexWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SparseIndexNative",
                       {InstanceMethod<&SparseIndexWrap::Add>("add"), InstanceMethod<&SparseIndexWrap::Build>("build"),
                        InstanceMethod<&SparseIndexWrap::Search>("search"), InstanceMethod<&SparseIndexWrap::Save>("save"),
                        InstanceMethod<&SparseIndexWrap::Stats>("stats"), InstanceMethod<&SparseIndexWrap::IdsAt>("idsAt"),
                        StaticMethod<&SparseIndexWrap::Load>("load")});
  }

  // new SparseIndexNative(numCols), or (internally) new SparseIndexNative(External<IndexPtr>) from load().
  explicit SparseIndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SparseIndexWrap>(info) {
    guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      if (i.Length() == 1 && i[0].IsExternal()) {
        auto external = i[0].As<Napi::External<IndexPtr>>();
        if (!external.CheckTypeTag(&kLoadedIndexTag)) throw Napi::TypeError::New(i.Env(), "new SparseIndex(numCols): numCols must be a number");
        state_ = *external.Data();
      } else {
        if (i.Length() < 1) throw Napi::TypeError::New(i.Env(), "new SparseIndex(numCols): numCols is required");
        const int64_t cols = integer_value(i[0], "numCols", 1, INT32_MAX);
        state_ = std::make_shared<SharedIndex>(index::InvertedIndex(cols));
      }
      return i.Env().Undefined();
    });
  }

 private:
  // add(csr, ids): copies the batch; documents become searchable after build(). Every million
  // postings the batches are inverted into the compressed builder (synchronously, on the op threads).
  Napi::Value Add(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      if (i.Length() < 2) throw Napi::TypeError::New(i.Env(), "add(csr, ids): both arguments are required");
      CsrCopy csr = csr_from_js(i[0], "add: csr", index::ValueRule::kNonNegative);
      std::vector<std::string> ids = strings_from_js(i[1], "add: ids");
      std::unique_lock lock(state_->mutex, std::try_to_lock);
      if (!lock.owns_lock())
        throw Napi::Error::New(i.Env(), "add: the index is busy with a build/search/save; await it before adding");
      try {
        state_->index.add(csr.view(), std::move(ids), at::get_num_threads());
      } catch (const std::invalid_argument& e) {
        throw Napi::RangeError::New(i.Env(), e.what());
      }
      return i.Env().Undefined();
    });
  }

  Napi::Value Build(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      IndexPtr state = state_;
      return run_async<bool>(
          i.Env(), "l0sparse.index.build",
          [state, threads = at::get_num_threads()]() {
            std::unique_lock lock(state->mutex);
            state->index.build(threads);
            return true;
          },
          [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
    });
  }

  // search(queries, k, { threads?, algorithm?, docIndices?, scores? }) -> Promise<{ docIndices, scores }>.
  // Preallocated outputs are written in place by the worker; the references keep them alive until it settles.
  Napi::Value Search(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      Napi::Env env = i.Env();
      if (i.Length() < 2) throw Napi::TypeError::New(env, "search(queries, k): both arguments are required");
      auto queries = std::make_shared<CsrCopy>(csr_from_js(i[0], "search: queries", index::ValueRule::kNonNegative));
      const int64_t k = integer_value(i[1], "search: k", 1, 1 << 20);
      Napi::Object opts = Napi::Object::New(env);
      if (i.Length() > 2 && !i[2].IsUndefined() && !i[2].IsNull()) {
        if (!i[2].IsObject()) throw Napi::TypeError::New(env, "search: options must be an object");
        opts = i[2].As<Napi::Object>();
      }
      int threads = at::get_num_threads();
      if (!opts.Get("threads").IsUndefined()) threads = static_cast<int>(integer_value(opts.Get("threads"), "search: threads", 1, 1024));
      index::SearchAlgorithm algorithm = index::SearchAlgorithm::kAuto;
      Napi::Value algo = opts.Get("algorithm");
      if (!algo.IsUndefined()) {
        const std::string name = algo.IsString() ? algo.As<Napi::String>().Utf8Value() : "";
        if (name == "maxscore") algorithm = index::SearchAlgorithm::kMaxScore;
        else if (name == "exhaustive") algorithm = index::SearchAlgorithm::kExhaustive;
        else if (name != "auto") throw Napi::RangeError::New(env, "search: algorithm must be 'auto', 'maxscore' or 'exhaustive'");
      }
      const int64_t rows = static_cast<int64_t>(queries->indptr.size()) - 1;
      if (queries->num_cols != state_->index.num_cols())
        throw Napi::RangeError::New(env, "search: queries have numCols " + std::to_string(queries->num_cols) + " but the index has " +
                                             std::to_string(state_->index.num_cols()));
      if (rows * k > (int64_t{1} << 30))
        throw Napi::RangeError::New(env, "search: queries x k = " + std::to_string(rows * k) +
                                             " results exceed 2^30; search in smaller batches");
      const size_t count = static_cast<size_t>(rows * k);
      Napi::Int32Array docs = output_arg<Napi::Int32Array>(opts.Get("docIndices"), napi_int32_array, count, "docIndices (Int32Array)");
      Napi::Float32Array scores = output_arg<Napi::Float32Array>(opts.Get("scores"), napi_float32_array, count, "scores (Float32Array)");
      auto refs = std::make_shared<std::pair<Napi::ObjectReference, Napi::ObjectReference>>(
          Napi::Persistent(docs.As<Napi::Object>()), Napi::Persistent(scores.As<Napi::Object>()));
      int32_t* docs_ptr = docs.Data();
      float* scores_ptr = scores.Data();
      IndexPtr state = state_;
      return run_async<bool>(
          env, "l0sparse.index.search",
          [state, queries, k, threads, algorithm, docs_ptr, scores_ptr]() {
            std::shared_lock lock(state->mutex);
            index::search_batch(state->index, queries->view(), k, threads, docs_ptr, scores_ptr, algorithm);
            return true;
          },
          [refs](Napi::Env env, bool&&) -> Napi::Value {
            Napi::Object out = Napi::Object::New(env);
            out.Set("docIndices", refs->first.Value());
            out.Set("scores", refs->second.Value());
            return out;
          });
    });
  }

  template <typename Array>
  static Array output_arg(const Napi::Value& v, napi_typedarray_type type, size_t count, const char* what) {
    if (v.IsUndefined() || v.IsNull()) return Array::New(v.Env(), count);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
      throw Napi::TypeError::New(v.Env(), std::string("search: ") + what + " has the wrong type");
    Array a = v.As<Array>();
    if (a.ElementLength() != count)
      throw Napi::RangeError::New(v.Env(), std::string("search: ") + what + " must hold queries x k = " + std::to_string(count) +
                                               " entries, has " + std::to_string(a.ElementLength()));
    return a;
  }

  // save(path, { weights?: 'float32' | 'uint16' | 'uint8', scale?: 'term' | 'global' })
  Napi::Value Save(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      const std::string path = string_arg(i, 0, "save(path): path");
      index::SaveOptions options;
      options.threads = at::get_num_threads();
      if (i.Length() > 1 && !i[1].IsUndefined() && !i[1].IsNull()) {
        if (!i[1].IsObject()) throw Napi::TypeError::New(i.Env(), "save: options must be an object");
        Napi::Object opts = i[1].As<Napi::Object>();
        Napi::Value weights = opts.Get("weights"), scale = opts.Get("scale");
        if (!weights.IsUndefined()) {
          const std::string name = weights.IsString() ? weights.As<Napi::String>().Utf8Value() : "";
          if (name == "float32") options.coding = index::WeightCoding::kExactFloat32;
          else if (name == "uint16") options.coding = index::WeightCoding::kUint16;
          else if (name == "uint8") options.coding = index::WeightCoding::kUint8;
          else throw Napi::RangeError::New(i.Env(), "save: weights must be 'float32', 'uint16' or 'uint8'");
        }
        if (!scale.IsUndefined()) {
          const std::string name = scale.IsString() ? scale.As<Napi::String>().Utf8Value() : "";
          if (name != "term" && name != "global") throw Napi::RangeError::New(i.Env(), "save: scale must be 'term' or 'global'");
          options.per_term_scale = name == "term";
        }
      }
      IndexPtr state = state_;
      if (options.coding && state->index.coding() != index::WeightCoding::kExactFloat32 && *options.coding != state->index.coding())
        throw Napi::RangeError::New(i.Env(), "save: this index holds quantized weights and can only be saved as they are");
      return run_async<bool>(
          i.Env(), "l0sparse.index.save",
          [state, path, options]() {
            std::shared_lock lock(state->mutex);
            index::save_index(state->index, path, options);
            return true;
          },
          [](Napi::Env env, bool&&) -> Napi::Value { return env.Undefined(); });
    });
  }

  // load(path, { verify?: 'full' | 'lazy' }): 'lazy' (the default) opens in O(numCols + docs) and checks
  // each term's blocks on first use; 'full' checks the whole file first (index_file.h).
  static Napi::Value Load(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      const std::string path = string_arg(i, 0, "load(path): path");
      index::Verify verify = index::Verify::kOnFirstUse;
      if (i.Length() > 1 && !i[1].IsUndefined() && !i[1].IsNull()) {
        if (!i[1].IsObject()) throw Napi::TypeError::New(i.Env(), "load(path, options): options must be an object");
        const Napi::Value v = i[1].As<Napi::Object>().Get("verify");
        const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : v.IsUndefined() ? "lazy" : "";
        if (name == "full") verify = index::Verify::kFull;
        else if (name != "lazy") throw Napi::RangeError::New(i.Env(), "load: verify must be 'full' or 'lazy'");
      }
      return run_async<IndexPtr>(
          i.Env(), "l0sparse.index.load",
          [path, verify, threads = at::get_num_threads()]() {
            return std::make_shared<SharedIndex>(index::load_index(path, threads, verify));
          },
          [](Napi::Env env, IndexPtr&& loaded) -> Napi::Value {
            Napi::FunctionReference* ctor = nullptr;
            {
              std::lock_guard<std::mutex> lock(constructors_mutex);
              ctor = constructors.at(env);
            }
            auto external = Napi::External<IndexPtr>::New(env, &loaded);
            external.TypeTag(&kLoadedIndexTag);
            return ctor->New({external});
          });
    });
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      std::shared_lock lock(state_->mutex, std::try_to_lock);
      if (!lock.owns_lock()) throw Napi::Error::New(i.Env(), "stats: the index is busy with a build; await it first");
      const index::IndexStats s = state_->index.stats();
      Napi::Object out = Napi::Object::New(i.Env());
      out.Set("numCols", static_cast<double>(state_->index.num_cols()));
      out.Set("docs", static_cast<double>(s.docs));
      out.Set("pendingDocs", static_cast<double>(s.pending_docs));
      out.Set("terms", static_cast<double>(s.terms));
      out.Set("postings", static_cast<double>(s.postings));
      out.Set("blocks", static_cast<double>(s.blocks));
      out.Set("bytes", static_cast<double>(s.bytes));
      out.Set("postingBytes", static_cast<double>(s.posting_bytes));
      out.Set("mapped", s.mapped);
      out.Set("weights", index::weight_coding_name(s.coding));
      return out;
    });
  }

  // idsAt(docIndices: Int32Array) -> (string | null)[]: external ids of internal indices (null for -1).
  Napi::Value IdsAt(const Napi::CallbackInfo& info) {
    return guarded(info, [&](const Napi::CallbackInfo& i) -> Napi::Value {
      Napi::Env env = i.Env();
      if (i.Length() < 1 || !i[0].IsTypedArray() || i[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, "idsAt(docIndices): docIndices must be an Int32Array");
      auto indices = i[0].As<Napi::Int32Array>();
      std::shared_lock lock(state_->mutex, std::try_to_lock);
      if (!lock.owns_lock()) throw Napi::Error::New(env, "idsAt: the index is busy with a build; await it first");
      const int64_t built = state_->index.num_docs();
      Napi::Array out = Napi::Array::New(env, indices.ElementLength());
      for (size_t j = 0; j < indices.ElementLength(); ++j) {
        const int32_t d = indices[j];
        if (d == index::kNoDoc) {
          out.Set(static_cast<uint32_t>(j), env.Null());
          continue;
        }
        if (d < 0 || d >= built)
          throw Napi::RangeError::New(env, "idsAt: document index " + std::to_string(d) + " outside [0, " + std::to_string(built) + ")");
        const std::string_view id = state_->index.id(d);
        out.Set(static_cast<uint32_t>(j), Napi::String::New(env, id.data(), id.size()));
      }
      return out;
    });
  }

  IndexPtr state_;
};

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = SparseIndexWrap::Define(env);
  auto* ref = new Napi::FunctionReference(Napi::Persistent(ctor));
  {
    std::lock_guard<std::mutex> lock(constructors_mutex);
    constructors[env] = ref;
  }
  env.AddCleanupHook([env, ref]() {
    std::lock_guard<std::mutex> lock(constructors_mutex);
    constructors.erase(env);
    delete ref;
  });
  exports.Set("SparseIndexNative", ctor);
}

Registrar registrar(Init);

}  // namespace
}  // namespace l0sparse::binding

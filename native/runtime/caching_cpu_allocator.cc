#include "runtime/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace l0sparse::runtime {

struct CachingCpuAllocator::Block {
  CachingCpuAllocator* owner;
  void* data;
  size_t size;
  uint64_t freed_at;
};

namespace {

constexpr size_t kGranule = size_t{64} << 10;  // sizes are rounded up to 64 KiB

size_t round_up(size_t n) { return (n + kGranule - 1) / kGranule * kGranule; }

// Large blocks held by tensors, by data pointer, for every CachingCpuAllocator in the process.
struct LiveBlocks {
  std::mutex mutex;
  std::unordered_map<void*, void*> blocks;
};
LiveBlocks& live_blocks() {
  static LiveBlocks* live = new LiveBlocks();  // never destroyed: frees may run during exit
  return *live;
}

}  // namespace

class SystemPageSource final : public PageSource {
 public:
  void* map(size_t bytes) override {
    void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return data == MAP_FAILED ? nullptr : data;
  }
  void unmap(void* data, size_t bytes) override { ::munmap(data, bytes); }
};

PageSource& system_page_source() {
  static SystemPageSource* source = new SystemPageSource();  // never destroyed, like the allocator using it
  return *source;
}

CachingCpuAllocator::CachingCpuAllocator(PageSource& pages) : pages_(pages) {}

CachingCpuAllocator::~CachingCpuAllocator() { release_cached(); }

// Why the bound holds (M = in_use + cached, every change below made under mutex_):
//  - reuse moves a block from cached to in use, and a free moves it back: M is unchanged;
//  - a miss unmaps until M + size <= max(peak, in_use + size) (or nothing is cached, when M + size is
//    in_use + size itself), then counts size as in use and raises peak to in_use: the new M is at most the
//    new peak;
//  - a failed mapping, an unmap and release_cached only lower M.
// A block is mapped only after its reservation entered M and is counted in M until it is unmapped, so the
// bytes really mapped at any instant are at most M, hence at most the peak. The earlier version reserved
// nothing before mapping outside the lock: two threads could both see room and both map.
CachingCpuAllocator::Block* CachingCpuAllocator::reuse_or_reserve_locked(size_t size) {
  // Best fit within 1/8 of the request: the same shape next step finds its own block.
  auto it = free_.lower_bound(size);
  if (it != free_.end() && it->first <= size + size / 8) {
    Block* block = it->second;
    free_.erase(it);
    stats_.cached_bytes -= block->size;
    ++stats_.reuses;
    stats_.in_use_bytes += block->size;
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
    return block;
  }
  const size_t limit = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes + size);
  while (!free_.empty() && stats_.in_use_bytes + stats_.cached_bytes + size > limit) {
    auto oldest = free_.begin();
    for (auto j = free_.begin(); j != free_.end(); ++j)
      if (j->second->freed_at < oldest->second->freed_at) oldest = j;
    unmap_locked(oldest);
  }
  stats_.in_use_bytes += size;
  stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  ++stats_.maps;
  return nullptr;
}

// Maps `size` bytes already reserved as in use; on failure gives the reservation back and throws.
void* CachingCpuAllocator::map_reserved(size_t size) {
  void* data = pages_.map(size);
  if (!data) {
    release_cached();  // the cache may hold what this request needs
    data = pages_.map(size);
  }
  if (!data) {
    const int error = errno;
    cancel_reservation(size);
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU allocator: cannot map ", size, " bytes (", std::strerror(error), ")");
  }
  return data;
}

void CachingCpuAllocator::cancel_reservation(size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.in_use_bytes -= size;
  --stats_.maps;
}

c10::DataPtr CachingCpuAllocator::allocate(size_t nbytes) {
  if (nbytes < kMinCachedBytes) return c10::GetDefaultCPUAllocator()->allocate(nbytes);
  const size_t size = round_up(nbytes);
  Block* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    block = reuse_or_reserve_locked(size);
  }
  if (!block) {
    std::unique_ptr<Block> fresh;
    try {
      fresh.reset(new Block{this, nullptr, size, 0});
    } catch (...) {
      cancel_reservation(size);
      throw;
    }
    fresh->data = map_reserved(size);
    block = fresh.release();
  }
  {
    LiveBlocks& live = live_blocks();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.blocks[block->data] = block;
  }
  return c10::DataPtr(block->data, block->data, &CachingCpuAllocator::free_data, c10::Device(c10::DeviceType::CPU));
}

void CachingCpuAllocator::free_data(void* data) {
  if (!data) return;
  Block* block = nullptr;
  {
    LiveBlocks& live = live_blocks();
    std::lock_guard<std::mutex> lock(live.mutex);
    auto it = live.blocks.find(data);
    if (it != live.blocks.end()) {
      block = static_cast<Block*>(it->second);
      live.blocks.erase(it);
    }
  }
  // Not a large block: raw_deallocate of a small one, which came from LibTorch's default allocator.
  if (!block) return c10::GetDefaultCPUAllocator()->raw_deleter()(data);
  block->owner->recycle(block);
}

void CachingCpuAllocator::recycle(Block* block) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.in_use_bytes -= block->size;
  stats_.cached_bytes += block->size;
  block->freed_at = ++clock_;
  free_.emplace(block->size, block);
}

void CachingCpuAllocator::unmap_locked(std::multimap<size_t, Block*>::iterator it) {
  Block* block = it->second;
  free_.erase(it);
  pages_.unmap(block->data, block->size);
  stats_.cached_bytes -= block->size;
  ++stats_.unmaps;
  delete block;
}

size_t CachingCpuAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t bytes = stats_.cached_bytes;
  while (!free_.empty()) unmap_locked(free_.begin());
  return bytes;
}

CpuMemoryStats CachingCpuAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

namespace {
std::mutex install_mutex;
CachingCpuAllocator* installed = nullptr;
}  // namespace

CachingCpuAllocator* install_caching_cpu_allocator() {
  std::lock_guard<std::mutex> lock(install_mutex);
  if (installed) return installed;
  const char* choice = std::getenv("L0SPARSE_CPU_ALLOCATOR");
  if (choice && std::string(choice) == "default") return nullptr;
  // Never destroyed: tensors alive at exit still point at it.
  installed = new CachingCpuAllocator();
  c10::SetCPUAllocator(installed, /*priority=*/1);
  return installed;
}

CachingCpuAllocator* installed_caching_cpu_allocator() {
  std::lock_guard<std::mutex> lock(install_mutex);
  return installed;
}

}  // namespace l0sparse::runtime

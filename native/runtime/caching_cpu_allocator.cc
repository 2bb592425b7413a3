#include "runtime/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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

CachingCpuAllocator::CachingCpuAllocator() = default;

CachingCpuAllocator::~CachingCpuAllocator() { release_cached(); }

c10::DataPtr CachingCpuAllocator::allocate(size_t nbytes) {
  if (nbytes < kMinCachedBytes) return c10::GetDefaultCPUAllocator()->allocate(nbytes);
  const size_t size = round_up(nbytes);
  Block* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit within 1/8 of the request: the same shape next step finds its own block.
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= size + size / 8) {
      block = it->second;
      free_.erase(it);
      stats_.cached_bytes -= block->size;
      ++stats_.reuses;
    } else {
      // Keep mapped bytes at or under the high-water mark of bytes in use: unmap the least recently freed.
      const size_t limit = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes + size);
      while (!free_.empty() && stats_.in_use_bytes + stats_.cached_bytes + size > limit) {
        auto oldest = free_.begin();
        for (auto j = free_.begin(); j != free_.end(); ++j)
          if (j->second->freed_at < oldest->second->freed_at) oldest = j;
        unmap_locked(oldest);
      }
    }
    if (block) {
      stats_.in_use_bytes += block->size;
      stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
    }
  }
  if (!block) {
    void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
      release_cached();  // the cache may hold what this request needs
      data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    TORCH_CHECK_WITH(OutOfMemoryError, data != MAP_FAILED, "CPU allocator: cannot map ", size, " bytes (",
                     std::strerror(errno), ")");
    block = new Block{this, data, size, 0};
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.maps;
    stats_.in_use_bytes += size;
    stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
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
  stats_.cached_bytes -= block->size;
  ++stats_.unmaps;
  ::munmap(block->data, block->size);
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

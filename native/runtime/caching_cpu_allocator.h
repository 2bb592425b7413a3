#pragma once
// LibTorch's CPU allocator for l0sparse processes: large blocks (>= 1 MiB) are mapped once and cached for
// reuse; small ones go to LibTorch's default allocator.
//
// Why: a training step allocates and frees the same large activation shapes over and over. With glibc's
// malloc those come either from mmap (every reuse pays page faults and kernel zeroing: ~3.7M minor faults
// per two DistilBERT steps at 16 x 256) or from the heap, where fragmentation kept ~1.3 GB more resident
// than the live tensors (P2). Caching blocks by size removes both: a block freed in one step serves the same
// shape in the next.
//
// The bound: bytes mapped never exceed the high-water mark of bytes in use (each block rounded up to 64 KiB),
// whatever the number of allocating threads. A request that misses the cache decides, under the allocator's
// one lock, which cached blocks to unmap (least recently freed first) and *reserves* its own size there, as
// in use, before the lock is released; the mapping itself then happens outside the lock. Two threads that
// miss at once therefore each see the other's reservation, and in_use + cached <= peak_in_use holds after
// every locked step (see the proof sketch in caching_cpu_allocator.cc).
#include <c10/core/Allocator.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace l0sparse::runtime {

struct CpuMemoryStats {
  size_t in_use_bytes = 0;       // large blocks held by tensors, plus reservations whose mapping is under way
  size_t cached_bytes = 0;       // large blocks mapped and free for reuse
  size_t peak_in_use_bytes = 0;  // high-water mark of in_use_bytes
  uint64_t maps = 0;             // large blocks mapped (cache misses)
  uint64_t reuses = 0;           // large requests served from the cache
  uint64_t unmaps = 0;           // cached blocks given back to the OS
};

// Where large blocks come from. The default maps anonymous private pages (mmap/munmap); tests substitute
// one that counts the bytes really mapped or that holds a mapping back to force an interleaving.
class PageSource {
 public:
  virtual ~PageSource() = default;
  // Returns null when the system has no memory for `bytes` (errno set).
  virtual void* map(size_t bytes) = 0;
  virtual void unmap(void* data, size_t bytes) = 0;
};
PageSource& system_page_source();

class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kMinCachedBytes = size_t{1} << 20;

  // Requests below kMinCachedBytes go to LibTorch's default CPU allocator (c10::GetDefaultCPUAllocator).
  // `pages` must outlive the allocator.
  explicit CachingCpuAllocator(PageSource& pages = system_page_source());
  ~CachingCpuAllocator() override;
  CachingCpuAllocator(const CachingCpuAllocator&) = delete;
  CachingCpuAllocator& operator=(const CachingCpuAllocator&) = delete;

  c10::DataPtr allocate(size_t nbytes) override;
  // LibTorch also frees through raw_deleter() with the data pointer alone (raw_allocate/raw_deallocate), so
  // a block's context is its data pointer and blocks in use are found through a process-wide table.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::free_data; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }

  CpuMemoryStats stats() const;
  // Unmaps every cached block (blocks held by tensors stay); returns the bytes given back.
  size_t release_cached();

 private:
  struct Block;
  static void free_data(void* data);
  void recycle(Block* block);
  // Under mutex_: a cached block that fits `size`, or null after reserving `size` as in use and counting the
  // map (unmapping the least recently freed cached blocks first, as far as the bound needs);
  // cancel_reservation undoes both.
  Block* reuse_or_reserve_locked(size_t size);
  void* map_reserved(size_t size);
  void cancel_reservation(size_t size);
  void unmap_locked(std::multimap<size_t, Block*>::iterator it);

  PageSource& pages_;
  mutable std::mutex mutex_;
  std::multimap<size_t, Block*> free_;  // cached blocks by size
  CpuMemoryStats stats_;
  uint64_t clock_ = 0;  // orders frees: the least recently freed block is unmapped first
};

// Installs one process-wide CachingCpuAllocator as LibTorch's CPU allocator (idempotent), unless the
// environment variable L0SPARSE_CPU_ALLOCATOR is "default". Returns the installed allocator or null.
CachingCpuAllocator* install_caching_cpu_allocator();
CachingCpuAllocator* installed_caching_cpu_allocator();

}  // namespace l0sparse::runtime

// The caching CPU allocator: reuse, the bound on mapped bytes, delegation of small blocks, release.
#include "runtime/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

using l0sparse::runtime::CachingCpuAllocator;

namespace {
constexpr size_t MiB = size_t{1} << 20;
}

TEST(CachingCpuAllocator, ReusesAFreedBlockForTheSameSize) {
  CachingCpuAllocator a;
  void* first;
  {
    c10::DataPtr p = a.allocate(12 * MiB + 5);
    first = p.get();
    static_cast<char*>(p.get())[12 * MiB + 4] = 1;  // the whole request is writable
  }
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
  EXPECT_GE(a.stats().cached_bytes, 12 * MiB + 5);
  c10::DataPtr again = a.allocate(12 * MiB);  // within 1/8: the same block
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(a.stats().maps, 1u);
  EXPECT_EQ(a.stats().reuses, 1u);
  EXPECT_EQ(a.stats().cached_bytes, 0u);
}

TEST(CachingCpuAllocator, DoesNotHandOutABlockMuchLargerThanTheRequest) {
  CachingCpuAllocator a;
  { c10::DataPtr big = a.allocate(64 * MiB); }
  c10::DataPtr small = a.allocate(8 * MiB);
  EXPECT_EQ(a.stats().reuses, 0u);
  EXPECT_EQ(a.stats().maps, 2u);
}

TEST(CachingCpuAllocator, MappedBytesStayAtTheHighWaterMarkOfBytesInUse) {
  CachingCpuAllocator a;
  { c10::DataPtr x = a.allocate(40 * MiB), y = a.allocate(40 * MiB); }  // peak in use: 80 MiB
  const size_t peak = a.stats().peak_in_use_bytes;
  EXPECT_EQ(peak, 80 * MiB);
  // Shapes that never match the cache: each miss must unmap old blocks instead of growing.
  for (size_t mb = 3; mb < 30; mb += 2) {
    c10::DataPtr p = a.allocate(mb * MiB);
    c10::DataPtr q = a.allocate((mb + 31) * MiB);
    const auto s = a.stats();
    EXPECT_LE(s.in_use_bytes + s.cached_bytes, std::max(peak, s.in_use_bytes)) << mb;
  }
  EXPECT_GT(a.stats().unmaps, 0u);
}

TEST(CachingCpuAllocator, SmallBlocksGoToTheDefaultAllocator) {
  CachingCpuAllocator a;
  c10::DataPtr p = a.allocate(1000);
  c10::DataPtr empty = a.allocate(0);
  EXPECT_NE(p.get(), nullptr);
  EXPECT_EQ(a.stats().maps, 0u);
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
}

TEST(CachingCpuAllocator, RawAllocateAndDeallocateWork) {
  CachingCpuAllocator a;
  void* big = a.raw_allocate(3 * MiB);
  void* small = a.raw_allocate(100);
  EXPECT_EQ(a.stats().in_use_bytes, 3 * MiB);
  a.raw_deallocate(big);
  a.raw_deallocate(small);
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
  EXPECT_EQ(a.stats().cached_bytes, 3 * MiB);
}

TEST(CachingCpuAllocator, ReleaseUnmapsCachedBlocksOnly) {
  CachingCpuAllocator a;
  c10::DataPtr held = a.allocate(4 * MiB);
  { c10::DataPtr freed = a.allocate(16 * MiB); }
  EXPECT_EQ(a.release_cached(), 16 * MiB);
  EXPECT_EQ(a.stats().cached_bytes, 0u);
  EXPECT_EQ(a.stats().in_use_bytes, 4 * MiB);
  static_cast<char*>(held.get())[4 * MiB - 1] = 7;  // still valid
}

TEST(CachingCpuAllocator, ConcurrentAllocationAndFreeKeepTheAccountsStraight) {
  CachingCpuAllocator a;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&a, t] {
      for (int i = 0; i < 200; ++i) {
        c10::DataPtr p = a.allocate((1 + (i + t) % 5) * MiB);
        static_cast<char*>(p.get())[0] = static_cast<char>(i);
      }
    });
  for (auto& th : threads) th.join();
  const auto s = a.stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.maps + s.reuses, 800u);
  EXPECT_LE(s.cached_bytes, s.peak_in_use_bytes);
}

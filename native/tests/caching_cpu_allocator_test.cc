// The caching CPU allocator: reuse, the bound on mapped bytes, delegation of small blocks, release.
#include "runtime/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>
#include <vector>

using l0sparse::runtime::CachingCpuAllocator;
using l0sparse::runtime::PageSource;
using l0sparse::runtime::system_page_source;

namespace {
constexpr size_t MiB = size_t{1} << 20;

// Real pages, counted: the bytes mapped right now and their high-water mark, independent of the allocator's
// own accounts.
class CountingPageSource : public PageSource {
 public:
  void* map(size_t bytes) override {
    void* data = system_page_source().map(bytes);
    if (!data) return nullptr;
    const size_t now = mapped_.fetch_add(bytes) + bytes;
    size_t high = high_water_.load();
    while (now > high && !high_water_.compare_exchange_weak(high, now)) {
    }
    ++maps_;
    return data;
  }
  void unmap(void* data, size_t bytes) override {
    mapped_.fetch_sub(bytes);
    system_page_source().unmap(data, bytes);
  }
  size_t mapped() const { return mapped_.load(); }
  size_t high_water() const { return high_water_.load(); }
  uint64_t maps() const { return maps_.load(); }

 private:
  std::atomic<size_t> mapped_{0}, high_water_{0};
  std::atomic<uint64_t> maps_{0};
};

// Holds the mapping of one size back until released, and says when a thread is waiting there.
class GatedPageSource : public CountingPageSource {
 public:
  explicit GatedPageSource(size_t gated_bytes) : gated_bytes_(gated_bytes) {}
  void* map(size_t bytes) override {
    if (bytes == gated_bytes_) {
      entered_.set_value();
      // Bounded: an allocator that mapped under its lock would deadlock here; the test then fails instead.
      gate_timed_out_ = gate_.get_future().wait_for(std::chrono::seconds(20)) != std::future_status::ready;
    }
    return CountingPageSource::map(bytes);
  }
  std::future<void> entered() { return entered_.get_future(); }
  void open() { gate_.set_value(); }
  bool gate_timed_out() const { return gate_timed_out_; }

 private:
  size_t gated_bytes_;
  std::promise<void> entered_, gate_;
  std::atomic<bool> gate_timed_out_{false};
};

class FailingPageSource : public PageSource {
 public:
  void* map(size_t) override {
    errno = ENOMEM;
    return nullptr;
  }
  void unmap(void*, size_t) override {}
};
}  // namespace

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

// The interleaving that broke the bound: thread A misses, makes room and is about to map; thread B misses
// before A has mapped. Without A's reservation counted, B saw the room A had made as its own and both mapped.
TEST(CachingCpuAllocator, TwoMissesAtOnceEachSeeTheOthersReservation) {
  GatedPageSource pages(30 * MiB);
  CachingCpuAllocator a(pages);
  { c10::DataPtr x = a.allocate(40 * MiB), y = a.allocate(40 * MiB); }  // peak 80 MiB, 80 MiB cached
  auto entered = pages.entered();
  c10::DataPtr held_by_a;  // still in use when B's block arrives
  std::thread thread_a([&a, &held_by_a] {
    held_by_a = a.allocate(30 * MiB);  // misses (40 > 30 + 30/8): unmaps one 40 MiB block, then maps
    static_cast<char*>(held_by_a.get())[30 * MiB - 1] = 1;
  });
  ASSERT_EQ(entered.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  c10::DataPtr b = a.allocate(31 * MiB);  // also a miss; must unmap the other 40 MiB block
  pages.open();
  thread_a.join();
  EXPECT_FALSE(pages.gate_timed_out()) << "B waited for A's mapping: the mapping ran under the lock";
  const auto s = a.stats();
  EXPECT_EQ(s.in_use_bytes, 61 * MiB);
  EXPECT_EQ(s.peak_in_use_bytes, 80 * MiB);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.unmaps, 2u);
  EXPECT_LE(s.in_use_bytes + s.cached_bytes, s.peak_in_use_bytes);
  EXPECT_LE(pages.high_water(), 80 * MiB);
  EXPECT_EQ(pages.mapped(), 61 * MiB);
}

// More threads than cores, random sizes, several blocks held at once: after every call the accounts keep the
// bound, no block is handed to two holders, and the pages really mapped never exceed the final peak.
TEST(CachingCpuAllocator, TheBoundHoldsUnderContentionWithRandomSizes) {
  CountingPageSource pages;
  CachingCpuAllocator a(pages);
  constexpr int kThreads = 8, kIterations = 400;
  std::atomic<int> violations{0}, corrupted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      std::uniform_int_distribution<size_t> bytes(1 * MiB, 24 * MiB);
      std::uniform_int_distribution<int> held_max(0, 3);
      struct Held {
        c10::DataPtr ptr;
        size_t size;
        char tag;
      };
      std::vector<Held> held;
      auto drop = [&](size_t k) {
        const char* d = static_cast<const char*>(held[k].ptr.get());
        if (d[0] != held[k].tag || d[held[k].size - 1] != held[k].tag) ++corrupted;
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
      };
      for (int i = 0; i < kIterations; ++i) {
        const size_t n = bytes(rng);
        const char tag = static_cast<char>(t * 31 + i);
        c10::DataPtr p = a.allocate(n);
        static_cast<char*>(p.get())[0] = tag;
        static_cast<char*>(p.get())[n - 1] = tag;
        held.push_back({std::move(p), n, tag});
        const auto target = static_cast<size_t>(held_max(rng));
        while (held.size() > target) drop(rng() % held.size());
        const auto s = a.stats();
        if (s.in_use_bytes + s.cached_bytes > s.peak_in_use_bytes) ++violations;
      }
      while (!held.empty()) drop(held.size() - 1);
    });
  for (auto& th : threads) th.join();
  const auto s = a.stats();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(corrupted.load(), 0);
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.maps + s.reuses, static_cast<uint64_t>(kThreads) * kIterations);
  EXPECT_EQ(s.maps, pages.maps());
  EXPECT_EQ(pages.mapped(), s.cached_bytes);
  EXPECT_LE(pages.high_water(), s.peak_in_use_bytes);
  EXPECT_GT(s.unmaps, 0u);
}

TEST(CachingCpuAllocator, AFailedMappingThrowsAndGivesItsReservationBack) {
  FailingPageSource pages;
  CachingCpuAllocator a(pages);
  EXPECT_THROW(a.allocate(8 * MiB), c10::OutOfMemoryError);
  const auto s = a.stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.maps, 0u);
}

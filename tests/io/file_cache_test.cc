// FileCache: capacity, pinning, eviction, and concurrent use.

#include "io/file_cache.h"

#include <dirent.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "io/io_test_util.h"

namespace spool {
namespace {

using ::spool::testing_io::HasStatus;
using ::spool::testing_io::ScopedTempDir;

OpenOptions Create() {
  OpenOptions options;
  options.create = true;
  return options;
}

class FileCacheTest : public ::testing::Test {
 protected:
  std::string Path(int i) { return absl::StrCat("/f", i); }

  std::shared_ptr<File> Get(FileCache& cache, int i,
                            const OpenOptions& options = Create()) {
    auto file = cache.Get(Path(i), options);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *file : nullptr;
  }

  FaultInjectionFileSystem fs_{/*seed=*/3};
};

TEST_F(FileCacheTest, SecondGetIsAHitOnTheSameHandle) {
  FileCache cache(&fs_, 4);
  auto first = Get(cache, 0);
  auto second = Get(cache, 0);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(fs_.counters().opens, 1u);
}

TEST_F(FileCacheTest, UnpinnedFilesStayWithinCapacity) {
  FileCache cache(&fs_, 4);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Get(cache, i)->Write(0, "x").ok());  // released at once
    EXPECT_LE(cache.open_count(), 4u);
  }
  EXPECT_EQ(cache.open_count(), 4u);
  EXPECT_EQ(cache.evictions(), 6u);
  EXPECT_EQ(fs_.open_file_count(), 4u);  // evicted handles were closed
  // The most recently used files are the cached ones.
  Get(cache, 9);
  Get(cache, 6);
  EXPECT_EQ(cache.hits(), 2u);
  Get(cache, 0);
  EXPECT_EQ(cache.misses(), 11u);
}

TEST_F(FileCacheTest, PinnedFilesSurviveEvictionAndStayUsable) {
  FileCache cache(&fs_, 2);
  std::vector<std::shared_ptr<File>> pinned;
  for (int i = 0; i < 5; ++i) pinned.push_back(Get(cache, i));
  // Soft bound: all five are pinned, so all five stay cached.
  EXPECT_EQ(cache.open_count(), 5u);
  EXPECT_EQ(cache.evictions(), 0u);
  for (auto& file : pinned) EXPECT_TRUE(file->Write(0, "pinned").ok());
  pinned.clear();
  cache.Trim();
  EXPECT_EQ(cache.open_count(), 2u);
  EXPECT_EQ(fs_.open_file_count(), 2u);
}

TEST_F(FileCacheTest, EvictedPinnedFileClosesWhenLastHolderReleases) {
  FileCache cache(&fs_, 1);
  auto held = Get(cache, 0);
  Get(cache, 1);  // both pinned while Get runs: over capacity for now
  EXPECT_EQ(cache.open_count(), 2u);
  cache.Trim();  // 0 is still pinned, so 1 goes
  EXPECT_EQ(cache.open_count(), 1u);
  EXPECT_EQ(cache.evictions(), 1u);
  cache.Evict(Path(0));
  EXPECT_EQ(cache.open_count(), 0u);
  EXPECT_TRUE(held->Write(0, "still open").ok());
  EXPECT_EQ(fs_.open_file_count(), 1u);
  held.reset();
  EXPECT_EQ(fs_.open_file_count(), 0u);
}

TEST_F(FileCacheTest, EvictByPathMakesNextGetOpenTheNewFile) {
  FileCache cache(&fs_, 4);
  ASSERT_TRUE(Get(cache, 0)->Write(0, "old").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/new", "new").ok());
  ASSERT_TRUE(fs_.Rename("/new", Path(0)).ok());
  cache.Evict(Path(0));
  cache.Evict("/never-cached");
  char buffer[3];
  ASSERT_TRUE(Get(cache, 0)->Read(0, 3, buffer).ok());
  EXPECT_EQ(std::string(buffer, 3), "new");
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.evictions(), 0u);  // explicit evictions are not counted
}

TEST_F(FileCacheTest, ReadOnlyEntryIsReplacedForWriters) {
  ASSERT_TRUE(fs_.WriteFileAtomic(Path(0), "abc").ok());
  FileCache cache(&fs_, 4);
  OpenOptions read_only;
  read_only.read_only = true;
  auto reader = Get(cache, 0, read_only);
  EXPECT_TRUE(HasStatus(reader->Write(0, "x"),
                        absl::StatusCode::kPermissionDenied, "read-only"));
  auto writer = Get(cache, 0, OpenOptions());
  EXPECT_NE(reader.get(), writer.get());
  EXPECT_TRUE(writer->Write(0, "x").ok());
  // The writable handle now serves readers too.
  EXPECT_EQ(Get(cache, 0, read_only).get(), writer.get());
  EXPECT_EQ(cache.open_count(), 1u);
}

TEST_F(FileCacheTest, HitAppliesOpenOptionsLikeOpen) {
  FileCache cache(&fs_, 4);
  ASSERT_TRUE(Get(cache, 0)->Write(0, "abc").ok());
  OpenOptions exclusive = Create();
  exclusive.exclusive = true;
  EXPECT_TRUE(HasStatus(cache.Get(Path(0), exclusive),
                        absl::StatusCode::kAlreadyExists, "open /f0"));
  OpenOptions truncate;
  truncate.truncate = true;
  EXPECT_EQ(*Get(cache, 0, truncate)->Size(), 0u);
}

TEST_F(FileCacheTest, OpenErrorsAreReturnedAndNotCached) {
  FileCache cache(&fs_, 4);
  EXPECT_TRUE(HasStatus(cache.Get("/missing", OpenOptions()),
                        absl::StatusCode::kNotFound, "open /missing"));
  EXPECT_EQ(cache.open_count(), 0u);
}

TEST_F(FileCacheTest, ConcurrentGetsShareHandlesAndRespectCapacity) {
  constexpr int kThreads = 8;
  constexpr int kFiles = 32;
  constexpr size_t kCapacity = 6;
  FileCache cache(&fs_, kCapacity);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        const int n = (t * 7 + i * 13) % kFiles;
        absl::StatusOr<std::shared_ptr<File>> file =
            cache.Get(Path(n), Create());
        if (!file.ok()) {
          failed = true;
          continue;
        }
        // Each thread writes its own 8-byte slot; others may read it.
        const std::string record = absl::StrCat("t", t, "i", i % 100000);
        if (!(*file)->Write(t * 8, record.substr(0, 8)).ok()) failed = true;
        char buffer[8];
        if (!(*file)->Read(0, sizeof(buffer), buffer).ok()) failed = true;
        if (i % 50 == 0) cache.Evict(Path(n));
        // Each thread pins at most one file at a time.
        if (cache.open_count() > kCapacity + kThreads) failed = true;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(failed);
  cache.Trim();
  EXPECT_LE(cache.open_count(), kCapacity);
  EXPECT_EQ(cache.hits() + cache.misses(), uint64_t{kThreads} * 400);
  EXPECT_EQ(fs_.open_file_count(), cache.open_count());
}

int CountOpenDescriptors() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dir != nullptr && readdir(dir) != nullptr) ++count;
  if (dir != nullptr) closedir(dir);
  return count;
}

TEST_F(FileCacheTest, PosixDescriptorsStayBounded) {
  ScopedTempDir temp;
  FileCache cache(FileSystem::Default(), 8);
  const int before = CountOpenDescriptors();
  for (int i = 0; i < 200; ++i) {
    auto file = cache.Get(temp.Join(absl::StrCat("segment-", i)), Create());
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Write(0, "x").ok());
  }
  EXPECT_EQ(CountOpenDescriptors() - before, 8);
}

}  // namespace
}  // namespace spool

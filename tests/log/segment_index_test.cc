#include "log/segment_index.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

class SegmentIndexTest : public ::testing::Test {
 protected:
  SegmentIndexTest() : fs_(1) { EXPECT_TRUE(fs_.CreateDir("/p").ok()); }
  FaultInjectionFileSystem fs_;
};

TEST_F(SegmentIndexTest, OffsetIndexEntriesAreKafkasBytes) {
  OffsetIndex index(&fs_, "/p/x.index", 100, 1024);
  ASSERT_TRUE(index.file().CreateActive().ok());
  EXPECT_EQ(fs_.Stat("/p/x.index")->size, 1024u) << "preallocated";
  index.Append(142, 4168);
  ASSERT_TRUE(index.file().Seal(true).ok());
  // kafka-format.md 12.6: base 100, offset 142 at position 4168.
  EXPECT_EQ(*fs_.ReadFile("/p/x.index"),
            std::string("\x00\x00\x00\x2a\x00\x00\x10\x48", 8));
}

TEST_F(SegmentIndexTest, TimeIndexEntriesAreKafkasBytes) {
  TimeIndex index(&fs_, "/p/x.timeindex", 100, 1200);
  ASSERT_TRUE(index.file().CreateActive().ok());
  index.MaybeAppend(1700000000005, 142);
  index.MaybeAppend(1700000000005, 150);  // not strictly greater: skipped
  ASSERT_TRUE(index.file().Seal(true).ok());
  EXPECT_EQ(
      *fs_.ReadFile("/p/x.timeindex"),
      std::string("\x00\x00\x01\x8b\xcf\xe5\x68\x05\x00\x00\x00\x2a", 12));
}

TEST_F(SegmentIndexTest, LookupFindsTheLargestEntryAtOrBelow) {
  OffsetIndex index(&fs_, "/p/o.index", 1000, 4096);
  ASSERT_TRUE(index.file().CreateActive().ok());
  for (int i = 1; i <= 100; ++i) index.Append(1000 + 10 * i, 100 * i);
  for (bool sealed : {false, true}) {
    if (sealed) {
      ASSERT_TRUE(index.file().Seal(false).ok());
    }
    EXPECT_EQ(index.Lookup(999)->position, 0u);
    EXPECT_EQ(index.Lookup(1009)->offset, 1000);
    EXPECT_EQ(index.Lookup(1010)->position, 100u);
    EXPECT_EQ(index.Lookup(1015)->offset, 1010);
    EXPECT_EQ(index.Lookup(5000)->offset, 2000);
    EXPECT_EQ(index.Last()->position, 10000u);
  }
}

TEST_F(SegmentIndexTest, TimeLookupAndTruncate) {
  TimeIndex index(&fs_, "/p/t.timeindex", 0, 1200);
  ASSERT_TRUE(index.file().CreateActive().ok());
  index.MaybeAppend(100, 5);
  index.MaybeAppend(200, 9);
  index.MaybeAppend(300, 20);
  EXPECT_EQ(index.Lookup(50)->offset, 0);
  EXPECT_EQ(index.Lookup(50)->timestamp, -1);
  EXPECT_EQ(index.Lookup(250)->offset, 9);
  ASSERT_TRUE(index.TruncateToOffset(9).ok());
  EXPECT_EQ(index.Last()->offset, 5);
  index.MaybeAppend(150, 7);
  EXPECT_EQ(index.Last()->timestamp, 150);
}

TEST_F(SegmentIndexTest, FullnessLeavesRoomForTheFinalTimeEntry) {
  TimeIndex t(&fs_, "/p/f.timeindex", 0, 36);  // 3 entries
  ASSERT_TRUE(t.file().CreateActive().ok());
  t.MaybeAppend(1, 1);
  EXPECT_FALSE(t.full());
  t.MaybeAppend(2, 2);
  EXPECT_TRUE(t.full());
  t.MaybeAppend(3, 3);  // refused: full
  EXPECT_EQ(t.file().entries(), 2);
  t.MaybeAppend(3, 3, /*skip_full_check=*/true);
  EXPECT_EQ(t.file().entries(), 3);
}

TEST_F(SegmentIndexTest, SanityCheckRejectsOutOfOrderEntries) {
  auto f = fs_.Open("/p/bad.index", {.create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, std::string("\x00\x00\x00\x05\x00\x00\x00\x10"
                                         "\x00\x00\x00\x03\x00\x00\x00\x20",
                                         16))
                  .ok());
  OffsetIndex index(&fs_, "/p/bad.index", 0, 1024);
  ASSERT_TRUE(index.file().OpenSealed().ok());
  absl::Status s = index.SanityCheck();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("entry 1 (offset 3"));
  EXPECT_THAT(s.message(), HasSubstr("/p/bad.index"));
}

TEST_F(SegmentIndexTest, TruncatedIndexFileIsCorrupt) {
  auto f = fs_.Open("/p/odd.index", {.create = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, "12345").ok());
  OffsetIndex index(&fs_, "/p/odd.index", 0, 1024);
  absl::Status s = index.file().OpenSealed();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("not a multiple of the entry size 8"));
}

}  // namespace
}  // namespace spool

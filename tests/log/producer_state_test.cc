#include "log/producer_state.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/errors.h"

namespace spool {
namespace {

using ::testing::HasSubstr;

BatchHeader Batch(int64_t pid, int16_t epoch, int32_t seq, int32_t records,
                  int64_t base_offset) {
  BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.records_count = records;
  h.last_offset_delta = records - 1;
  h.base_offset = base_offset;
  return h;
}

TEST(ProducerStateTest, RetryOfOneOfTheLastFiveBatchesIsADuplicate) {
  ProducerStateManager m;
  for (int i = 0; i < 7; ++i) {
    BatchHeader b = Batch(7, 0, i * 2, 2, 100 + i * 2);
    ASSERT_TRUE(m.Check(b).ok());
    m.Update(b, 1000);
  }
  // Batches 2..6 are cached; 0 and 1 have been evicted.
  auto dup = m.Check(Batch(7, 0, 8, 2, 0));
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 108);
  EXPECT_EQ(dup->last_offset, 109);
  auto old = m.Check(Batch(7, 0, 2, 2, 0));
  EXPECT_EQ(GetErrorKind(old.status()), ErrorKind::kOutOfOrderSequence);
}

TEST(ProducerStateTest, GapsAndStaleEpochsAreRefused) {
  ProducerStateManager m;
  m.Update(Batch(7, 3, 0, 5, 0), 1);
  auto gap = m.Check(Batch(7, 3, 6, 1, 0));
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorKind(gap.status()), ErrorKind::kOutOfOrderSequence);
  EXPECT_THAT(gap.status().message(), HasSubstr("expected sequence 5, got 6"));
  auto fenced = m.Check(Batch(7, 2, 5, 1, 0));
  EXPECT_EQ(GetErrorKind(fenced.status()), ErrorKind::kProducerFenced);
  EXPECT_THAT(fenced.status().message(), HasSubstr("epoch 2 is fenced"));
  auto new_epoch_mid = m.Check(Batch(7, 4, 3, 1, 0));
  EXPECT_EQ(GetErrorKind(new_epoch_mid.status()),
            ErrorKind::kOutOfOrderSequence);
  EXPECT_TRUE(m.Check(Batch(7, 4, 0, 1, 0)).ok());
  EXPECT_TRUE(m.Check(Batch(7, 3, 5, 1, 0)).ok());
  // Unknown producers may start anywhere (their state may have expired).
  EXPECT_TRUE(m.Check(Batch(8, 0, 12345, 1, 0)).ok());
}

TEST(ProducerStateTest, SequencesWrapAfterInt32Max) {
  ProducerStateManager m;
  m.Update(Batch(1, 0, 2147483646, 2, 0), 1);  // 2147483646, 2147483647
  EXPECT_TRUE(m.Check(Batch(1, 0, 0, 1, 2)).ok());
  EXPECT_FALSE(m.Check(Batch(1, 0, 1, 1, 2)).ok());
  EXPECT_EQ(NextSequence(2147483647), 0);
}

TEST(ProducerStateTest, ExpiresIdleProducers) {
  ProducerStateManager m;
  m.Update(Batch(1, 0, 0, 1, 0), 1000);
  m.Update(Batch(2, 0, 0, 1, 1), 5000);
  EXPECT_EQ(m.RemoveExpired(6000, 2000), 1);
  EXPECT_EQ(m.Find(1), nullptr);
  EXPECT_NE(m.Find(2), nullptr);
}

TEST(ProducerStateTest, SnapshotIsKafkasFormat) {
  // kafka-format.md 12.5: producer 1000, epoch 0, lastSequence 4, lastOffset
  // 104, offsetDelta 4, timestamp 1700000000000, no coordinator epoch, no
  // open transaction.
  ProducerStateManager m;
  m.Update(Batch(1000, 0, 0, 5, 100), 1700000000000);
  const std::string expected(
      "\x00\x01\xd0\xfc\x69\x35\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
      "\x03\xe8\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x68"
      "\x00\x00\x00\x04\x00\x00\x01\x8b\xcf\xe5\x68\x00\xff\xff\xff\xff"
      "\xff\xff\xff\xff\xff\xff\xff\xff",
      56);
  EXPECT_EQ(m.EncodeSnapshot(), expected);
  ProducerStateManager empty;
  EXPECT_EQ(empty.EncodeSnapshot(),
            std::string("\x00\x01\x48\x67\x4b\xc7\x00\x00\x00\x00", 10));
}

TEST(ProducerStateTest, SnapshotRoundTripKeepsTheLastBatch) {
  ProducerStateManager m;
  m.Update(Batch(5, 2, 0, 3, 10), 100);
  m.Update(Batch(5, 2, 3, 2, 13), 200);
  m.Update(Batch(9, 0, 7, 1, 20), 300);
  ProducerStateManager back;
  ASSERT_TRUE(back.DecodeSnapshot(m.EncodeSnapshot(), "x").ok());
  ASSERT_EQ(back.size(), 2u);
  auto dup = back.Check(Batch(5, 2, 3, 2, 0));
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 13);
  EXPECT_EQ(dup->last_offset, 14);
  EXPECT_TRUE(back.Check(Batch(5, 2, 5, 1, 0)).ok());
  EXPECT_FALSE(back.Check(Batch(5, 2, 6, 1, 0)).ok());
}

TEST(ProducerStateTest, CorruptSnapshotsAreRejected) {
  ProducerStateManager m;
  m.Update(Batch(5, 2, 0, 3, 10), 100);
  std::string snap = m.EncodeSnapshot();
  ProducerStateManager back;
  std::string flipped = snap;
  flipped[20] ^= 1;
  absl::Status s =
      back.DecodeSnapshot(flipped, "/p/00000000000000000013.snapshot");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("CRC mismatch"));
  EXPECT_THAT(s.message(), HasSubstr("00000000000000000013.snapshot"));
  s = back.DecodeSnapshot(snap.substr(0, 30), "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  std::string v2 = snap;
  v2[1] = 2;
  s = back.DecodeSnapshot(v2, "x");
  EXPECT_THAT(s.message(), HasSubstr("unsupported version 2"));
}

}  // namespace
}  // namespace spool

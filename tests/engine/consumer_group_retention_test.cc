// ConsumerGroups::RetentionFloor: the work-queue retention rule (what
// counts as a registered group, and what each contributes).

#include <optional>

#include "engine/consumer_group_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/consumer_groups.h"

namespace spool {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

class ConsumerGroupRetentionTest : public testing_util::GroupTestBase {
 protected:
  std::optional<int64_t> Floor(const std::string& topic, int32_t p) {
    auto f = groups().RetentionFloor(topic, p);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : std::optional<int64_t>(-100);
  }
};

TEST_F(ConsumerGroupRetentionTest, NoRegisteredGroupMeansNoFloor) {
  CreateTopic("t", 2);
  CreateTopic("u", 1);
  Produce("t", 0, 10);
  Produce("u", 0, 10);
  EXPECT_EQ(Floor("t", 0), std::nullopt);
  // A group registered on another topic only does not count.
  ASSERT_TRUE(groups().Commit("other", {{.tp = {"u", 0}, .offset = 4}}).ok());
  EXPECT_EQ(Floor("t", 0), std::nullopt);
  EXPECT_THAT(Floor("u", 0), Optional(4));
  auto bad = groups().RetentionFloor("t", 2);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(bad.status().message(), HasSubstr("no partition 2 (it has 2)"));
  EXPECT_EQ(groups().RetentionFloor("nope", 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ConsumerGroupRetentionTest, SmallestCommittedOffsetOfRegisteredGroups) {
  CreateTopic("t", 2);
  Produce("t", 0, 10);
  Produce("t", 1, 10);
  ASSERT_TRUE(groups().Commit("a", {{.tp = {"t", 0}, .offset = 7}}).ok());
  EXPECT_THAT(Floor("t", 0), Optional(7));
  // "a" is registered on t by its commit on t-0; on t-1 it consumed
  // nothing, so it holds t-1 at its log start.
  EXPECT_THAT(Floor("t", 1), Optional(0));
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"t", 1}, 4).ok());
  EXPECT_THAT(Floor("t", 1), Optional(4));
  ASSERT_TRUE(groups()
                  .Commit("b", {{.tp = {"t", 0}, .offset = 3},
                                {.tp = {"t", 1}, .offset = 9}})
                  .ok());
  EXPECT_THAT(Floor("t", 0), Optional(3));
  EXPECT_THAT(Floor("t", 1), Optional(4));
  ASSERT_TRUE(groups().Commit("a", {{.tp = {"t", 1}, .offset = 8}}).ok());
  EXPECT_THAT(Floor("t", 1), Optional(8));
  // A deleted group no longer holds anything back.
  ASSERT_TRUE(groups().DeleteGroup("b").ok());
  EXPECT_THAT(Floor("t", 0), Optional(7));
  EXPECT_THAT(Floor("t", 1), Optional(8));
  // Nor does an expired one.
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(groups().ExpireGroups(absl::Hours(1)).ok());
  EXPECT_EQ(Floor("t", 0), std::nullopt);
}

TEST_F(ConsumerGroupRetentionTest, SubscribedMembersRegisterTheirGroup) {
  CreateTopic("t", 1);
  Produce("t", 0, 10);
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"t", 0}, 2).ok());
  // Subscribed but nothing committed: held at the log start.
  auto m = groups().JoinGroup("q", {.topics = {"t"}});
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(Floor("t", 0), Optional(2));
  ASSERT_TRUE(
      groups()
          .Commit("q", {{.tp = {"t", 0}, .offset = 6}},
                  {.member_id = m->member_id, .generation = m->generation})
          .ok());
  EXPECT_THAT(Floor("t", 0), Optional(6));
  // The member leaves: the commit still registers the group.
  ASSERT_TRUE(groups().LeaveGroup("q", m->member_id).ok());
  EXPECT_THAT(Floor("t", 0), Optional(6));
  // A member subscribed to t in a group that committed elsewhere only.
  CreateTopic("u", 1);
  Produce("u", 0, 1);
  ASSERT_TRUE(groups().Commit("r", {{.tp = {"u", 0}, .offset = 1}}).ok());
  EXPECT_THAT(Floor("t", 0), Optional(6));
  ASSERT_TRUE(groups().JoinGroup("r", {.topics = {"t", "u"}}).ok());
  EXPECT_THAT(Floor("t", 0), Optional(2));
  // Its session runs out: removed at the next call touching the group,
  // and no longer registered on t.
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(groups().DescribeGroup("r").ok());
  EXPECT_THAT(Floor("t", 0), Optional(6));
}

}  // namespace
}  // namespace spool

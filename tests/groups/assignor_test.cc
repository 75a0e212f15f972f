// Hand-checked assignments for each strategy (Kafka's documented examples
// among them), strategy names, and input validation.

#include "spool/assignor.h"

#include <cstdint>
#include <string>
#include <vector>

#include "groups/assignor_test_util.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::spool::testing_groups::Format;
using ::spool::testing_groups::HasStatus;
using ::spool::testing_groups::Member;

// Runs `strategy` and renders the result ("a=[t0:0] b=[]"), or the error.
std::string AssignAndFormat(AssignmentStrategy strategy,
                            const std::vector<TopicPartitions>& topics,
                            const std::vector<MemberSubscription>& members) {
  absl::StatusOr<Assignment> assignment = Assign(strategy, topics, members);
  if (!assignment.ok()) return assignment.status().ToString();
  return Format(*assignment);
}

class AssignorTest : public ::testing::Test {
 protected:
  static constexpr AssignmentStrategy kAll[] = {AssignmentStrategy::kRange,
                                                AssignmentStrategy::kRoundRobin,
                                                AssignmentStrategy::kSticky};
};

TEST_F(AssignorTest, StrategyNamesAreKafkas) {
  EXPECT_EQ(AssignmentStrategyName(AssignmentStrategy::kRange), "range");
  EXPECT_EQ(AssignmentStrategyName(AssignmentStrategy::kRoundRobin),
            "roundrobin");
  EXPECT_EQ(AssignmentStrategyName(AssignmentStrategy::kSticky), "sticky");
  for (AssignmentStrategy s : kAll) {
    EXPECT_EQ(ParseAssignmentStrategy(AssignmentStrategyName(s)), s);
  }
  EXPECT_EQ(ParseAssignmentStrategy("cooperative-sticky"),
            AssignmentStrategy::kSticky);
  EXPECT_EQ(ParseAssignmentStrategy("Range"), std::nullopt);
  EXPECT_EQ(ParseAssignmentStrategy("round-robin"), std::nullopt);
  EXPECT_EQ(ParseAssignmentStrategy(""), std::nullopt);
}

// Kafka's RangeAssignor documentation: 2 members, 2 topics of 3 partitions.
TEST_F(AssignorTest, RangeGivesEachTopicInConsecutiveRanges) {
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kRange, {{"t0", 3}, {"t1", 3}},
                      {Member("C0", {"t0", "t1"}), Member("C1", {"t0", "t1"})}),
      "C0=[t0:0 t0:1 t1:0 t1:1] C1=[t0:2 t1:2]");
}

TEST_F(AssignorTest, RangeSplitsEachTopicAmongItsOwnSubscribers) {
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kRange, {{"t1", 2}, {"t0", 5}},
                            {Member("c", {"t1"}), Member("b", {"t0", "t1"}),
                             Member("a", {"t0"})}),
            "a=[t0:0 t0:1 t0:2] b=[t0:3 t0:4 t1:0] c=[t1:1]");
}

// Kafka's RoundRobinAssignor documentation, identical subscriptions.
TEST_F(AssignorTest, RoundRobinDealsAllPartitionsInTurn) {
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kRoundRobin, {{"t0", 3}, {"t1", 3}},
                      {Member("C0", {"t0", "t1"}), Member("C1", {"t0", "t1"})}),
      "C0=[t0:0 t0:2 t1:1] C1=[t0:1 t1:0 t1:2]");
}

// Kafka's RoundRobinAssignor documentation, different subscriptions: members
// not subscribed to a topic are passed over, and the result is unbalanced.
TEST_F(AssignorTest, RoundRobinPassesOverUnsubscribedMembers) {
  const std::vector<TopicPartitions> topics = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const std::vector<MemberSubscription> members = {
      Member("C0", {"t0"}), Member("C1", {"t0", "t1"}),
      Member("C2", {"t0", "t1", "t2"})};
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kRoundRobin, topics, members),
            "C0=[t0:0] C1=[t1:0] C2=[t1:1 t2:0 t2:1 t2:2]");
  // Sticky balances the same group (Kafka's StickyAssignor, example 2).
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kSticky, topics, members),
            "C0=[t0:0] C1=[t1:0 t1:1] C2=[t2:0 t2:1 t2:2]");
}

// Kafka's StickyAssignor documentation, example 1: a fresh assignment like
// round-robin's; then C1 leaves and everything C0 and C2 had stays put.
TEST_F(AssignorTest, StickyKeepsPartitionsWhenAMemberLeaves) {
  const std::vector<TopicPartitions> topics = {
      {"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}};
  const std::vector<std::string> all = {"t0", "t1", "t2", "t3"};
  EXPECT_EQ(AssignAndFormat(
                AssignmentStrategy::kSticky, topics,
                {Member("C0", all), Member("C1", all), Member("C2", all)}),
            "C0=[t0:0 t1:1 t3:0] C1=[t0:1 t2:0 t3:1] C2=[t1:0 t2:1]");
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kSticky, topics,
                            {Member("C0", all, "t0:0 t1:1 t3:0", 1),
                             Member("C2", all, "t1:0 t2:1", 1)}),
            "C0=[t0:0 t0:1 t1:1 t3:0] C2=[t1:0 t2:0 t2:1 t3:1]");
}

// Kafka's StickyAssignor documentation, example 2 continued: C0 leaves.
TEST_F(AssignorTest, StickyGivesAnOrphanToTheLeastLoadedSubscriber) {
  EXPECT_EQ(AssignAndFormat(
                AssignmentStrategy::kSticky, {{"t0", 1}, {"t1", 2}, {"t2", 3}},
                {Member("C1", {"t0", "t1"}, "t1:0 t1:1", 4),
                 Member("C2", {"t0", "t1", "t2"}, "t2:0 t2:1 t2:2", 4)}),
            "C1=[t0:0 t1:0 t1:1] C2=[t2:0 t2:1 t2:2]");
}

TEST_F(AssignorTest, StickyMovesOnlyWhatAJoiningMemberNeeds) {
  const std::vector<std::string> sub = {"t"};
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kSticky, {{"t", 6}},
                      {Member("a", sub, "t:0 t:1 t:2", 1),
                       Member("b", sub, "t:3 t:4 t:5", 1), Member("c", sub)}),
      "a=[t:0 t:1] b=[t:3 t:4] c=[t:2 t:5]");
}

// Loads 3, 2, 1 and no single move helps (a may hand only t2 partitions, to
// b, whose load is 2): a hands t2:0 to b, which hands t3:0 to c.
TEST_F(AssignorTest, StickyShiftsAlongAChainWhenNoSingleMoveHelps) {
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kSticky,
                            {{"t1", 2}, {"t2", 2}, {"t3", 2}},
                            {Member("a", {"t1", "t2"}, "t1:0 t1:1 t2:0", 1),
                             Member("b", {"t2", "t3"}, "t2:1 t3:0", 1),
                             Member("c", {"t3"}, "t3:1", 1)}),
            "a=[t1:0 t1:1] b=[t2:0 t2:1] c=[t3:0 t3:1]");
}

TEST_F(AssignorTest, StickyReleasesPartitionsThatCannotBeKept) {
  // a owns a partition beyond the topic's end, one of a deleted topic, one
  // of a topic it no longer subscribes to, and a negative one. Only t:0 is
  // kept. The rest is placed on the least
  // loaded subscriber (ties: member order), u first as it has fewer
  // subscribers: u:0 to b, t:1 to a, t:2 to b, t:3 to a.
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kSticky, {{"t", 4}, {"u", 1}},
                      {Member("a", {"t"}, "t:0 t:7 deleted:0 u:0 t:-1", 2),
                       Member("b", {"t", "u"}, "", 2)}),
      "a=[t:0 t:1 t:3] b=[t:2 u:0]");
}

TEST_F(AssignorTest, StickyResolvesDoubleClaimsByGenerationThenMemberId) {
  const std::vector<std::string> sub = {"t"};
  // b's claim is newer, so b keeps t:0 although a sorts first.
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kSticky, {{"t", 2}},
                      {Member("a", sub, "t:0", 3), Member("b", sub, "t:0", 5)}),
      "a=[t:1] b=[t:0]");
  // Same generation: the smaller member id keeps it.
  EXPECT_EQ(
      AssignAndFormat(AssignmentStrategy::kSticky, {{"t", 2}},
                      {Member("b", sub, "t:0", 5), Member("a", sub, "t:0", 5)}),
      "a=[t:0] b=[t:1]");
  // A member listing a partition twice is one claim.
  EXPECT_EQ(AssignAndFormat(AssignmentStrategy::kSticky, {{"t", 2}},
                            {Member("a", sub), Member("b", sub, "t:0 t:0", 1)}),
            "a=[t:1] b=[t:0]");
}

TEST_F(AssignorTest, UnknownTopicsAreIgnoredAndEveryMemberIsListed) {
  for (AssignmentStrategy s : kAll) {
    SCOPED_TRACE(AssignmentStrategyName(s));
    EXPECT_EQ(AssignAndFormat(
                  s, {{"t", 2}, {"empty", 0}, {"unused", 3}},
                  {Member("a", {"t", "missing"}), Member("b", {"missing"}),
                   Member("c", {}), Member("d", {"empty"})}),
              "a=[t:0 t:1] b=[] c=[] d=[]");
  }
}

TEST_F(AssignorTest, NoMembersGiveAnEmptyAssignment) {
  for (AssignmentStrategy s : kAll) {
    SCOPED_TRACE(AssignmentStrategyName(s));
    absl::StatusOr<Assignment> assignment = Assign(s, {{"t", 5}}, {});
    ASSERT_TRUE(assignment.ok()) << assignment.status();
    EXPECT_TRUE(assignment->empty());
  }
}

TEST_F(AssignorTest, InvalidInputIsRejectedByEveryStrategy) {
  struct Case {
    std::vector<TopicPartitions> topics;
    std::vector<MemberSubscription> members;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {{{"t", 1}},
       {Member("a", {"t"}), Member("a", {})},
       "duplicate member id \"a\""},
      {{{"t", 1}},
       {Member("a", {"t"}), Member("", {"t"})},
       "members[1]: empty member id"},
      {{{"t", 1}, {"u", -3}},
       {Member("a", {"t"})},
       "topic \"u\" has a negative partition count (-3)"},
      {{{"t", 1}, {"u", 2}, {"t", 1}},
       {Member("a", {"t"})},
       "duplicate topic \"t\" in topics"},
      {{{"t", 1}, {"", 2}},
       {Member("a", {"t"})},
       "topics[1]: empty topic name"},
      {{{"a", INT32_MAX}, {"b", 1}, {"c", INT32_MAX}},
       {Member("m", {"a", "b"})},
       "the subscribed topics have 2147483648 partitions in all"},
      // Validation does not depend on there being members.
      {{{"t", -1}}, {}, "negative partition count"},
  };
  for (AssignmentStrategy s : kAll) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.fragment);
      EXPECT_TRUE(HasStatus(Assign(s, c.topics, c.members),
                            absl::StatusCode::kInvalidArgument, c.fragment));
    }
  }
}

}  // namespace
}  // namespace spool

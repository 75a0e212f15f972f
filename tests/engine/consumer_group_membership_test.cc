// The embedded group coordinator: joins, heartbeats, leaves, session
// expiry, generations and fencing, and that assignments made with the
// assignors cover every partition exactly once.

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/consumer_group_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spool/assignor.h"
#include "spool/consumer_groups.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

class ConsumerGroupMembershipTest : public testing_util::GroupTestBase {
 protected:
  JoinGroupResult Join(const std::string& group, std::string member_id,
                       std::vector<std::string> topics,
                       AssignmentStrategy strategy = AssignmentStrategy::kRange,
                       absl::Duration session = absl::Seconds(10)) {
    auto r = groups().JoinGroup(group, {.member_id = std::move(member_id),
                                        .topics = std::move(topics),
                                        .strategy = strategy,
                                        .session_timeout = session});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : JoinGroupResult();
  }

  GroupDescription Describe(const std::string& group) {
    auto d = groups().DescribeGroup(group);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : GroupDescription();
  }
};

TEST_F(ConsumerGroupMembershipTest, JoinHeartbeatAndRejoin) {
  CreateTopic("t", 4);
  JoinGroupResult a = Join("g", "", {"t"});
  EXPECT_THAT(a.member_id, MatchesRegex("member-[0-9a-f]{32}"));
  EXPECT_EQ(a.generation, 1);
  EXPECT_EQ(a.assignment.size(), 4u);
  EXPECT_TRUE(groups().Heartbeat("g", a.member_id, 1).ok());
  EXPECT_EQ(Describe("g").state, GroupState::kStable);

  JoinGroupResult b = Join("g", "b", {"t"});
  EXPECT_EQ(b.member_id, "b");
  EXPECT_EQ(b.generation, 2);
  EXPECT_EQ(Describe("g").state, GroupState::kRebalancing);
  absl::Status s = groups().Heartbeat("g", a.member_id, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("rebalance needed"));
  EXPECT_THAT(s.message(), HasSubstr("generation 2"));
  // The rejoin changes nothing: same generation, a's new share.
  JoinGroupResult a2 = Join("g", a.member_id, {"t"});
  EXPECT_EQ(a2.generation, 2);
  EXPECT_EQ(a2.assignment.size() + b.assignment.size(), 4u);
  EXPECT_TRUE(groups().Heartbeat("g", a.member_id, 2).ok());
  GroupDescription d = Describe("g");
  EXPECT_EQ(d.state, GroupState::kStable);
  EXPECT_EQ(d.generation, 2);
  EXPECT_EQ(d.strategy, AssignmentStrategy::kRange);
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.members[0].member_id, "b");  // sorted by id
  EXPECT_EQ(d.members[0].assignment, b.assignment);
  EXPECT_EQ(d.members[0].session_timeout, absl::Seconds(10));
  EXPECT_EQ(d.members[1].last_heartbeat, clock_.Now());
  EXPECT_FALSE(d.empty_since.has_value());
}

TEST_F(ConsumerGroupMembershipTest, LeaveStartsANewGeneration) {
  CreateTopic("t", 3);
  JoinGroupResult a = Join("g", "a", {"t"});
  JoinGroupResult b = Join("g", "b", {"t"});
  ASSERT_TRUE(groups().LeaveGroup("g", "a").ok());
  GroupDescription d = Describe("g");
  EXPECT_EQ(d.generation, 3);
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].assignment.size(), 3u);
  absl::Status s = groups().Heartbeat("g", "a", 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("unknown member 'a'"));
  EXPECT_EQ(groups().LeaveGroup("g", "a").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(groups().LeaveGroup("nope", "a").code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(groups().LeaveGroup("g", "b").ok());
  d = Describe("g");
  EXPECT_EQ(d.state, GroupState::kEmpty);
  EXPECT_EQ(d.generation, 4);
  EXPECT_EQ(d.empty_since, clock_.Now());
}

TEST_F(ConsumerGroupMembershipTest, SilentMembersAreRemovedOnTheNextCall) {
  CreateTopic("t", 4);
  Join("g", "a", {"t"}, AssignmentStrategy::kRange, absl::Seconds(10));
  Join("g", "b", {"t"}, AssignmentStrategy::kRange, absl::Seconds(30));
  clock_.Advance(absl::Seconds(8));
  ASSERT_TRUE(groups().Heartbeat("g", "b", 2).ok());
  clock_.Advance(absl::Seconds(8));  // a: 16 s silent; b: 8 s
  absl::Status s = groups().Heartbeat("g", "b", 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("rebalance needed"));
  JoinGroupResult b =
      Join("g", "b", {"t"}, AssignmentStrategy::kRange, absl::Seconds(30));
  EXPECT_EQ(b.generation, 3);
  EXPECT_EQ(b.assignment.size(), 4u);
  s = groups().Heartbeat("g", "a", 2);
  EXPECT_THAT(s.message(), HasSubstr("unknown member 'a'"));
  // A member's commit keeps its session alive too.
  Produce("t", 0, 1);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(20));
    ASSERT_TRUE(groups()
                    .Commit("g", {{.tp = {"t", 0}, .offset = 1}},
                            {.member_id = "b", .generation = 3})
                    .ok());
  }
  EXPECT_EQ(Describe("g").members.size(), 1u);
}

TEST_F(ConsumerGroupMembershipTest, PeriodicMaintenanceRemovesSilentMembers) {
  CreateTopic("t", 2);
  Join("g", "a", {"t"}, AssignmentStrategy::kRange, absl::Seconds(10));
  clock_.Advance(absl::Seconds(11));
  const std::string zero = "spool_consumer_group_members{group=\"g\"} 0\n";
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (engine_->Metrics().find(zero) == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::string m = engine_->Metrics();
  EXPECT_THAT(m, HasSubstr(zero));
  EXPECT_THAT(m, HasSubstr("spool_consumer_group_generation{group=\"g\"} 2\n"));
}

TEST_F(ConsumerGroupMembershipTest, CommitsAreFencedByMemberAndGeneration) {
  CreateTopic("t", 2);
  Produce("t", 0, 5);
  const std::vector<OffsetCommit> one = {{.tp = {"t", 0}, .offset = 1}};
  // Unknown member of a group that does not exist: no group is made.
  absl::Status s =
      groups().Commit("g", one, {.member_id = "a", .generation = 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("unknown member 'a'"));
  EXPECT_THAT(*groups().ListGroups(), IsEmpty());

  Join("g", "a", {"t"});
  EXPECT_TRUE(
      groups().Commit("g", one, {.member_id = "a", .generation = 1}).ok());
  Join("g", "b", {"t"});
  s = groups().Commit("g", one, {.member_id = "a", .generation = 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("stale generation"));
  EXPECT_THAT(s.message(), HasSubstr("is at generation 2"));
  s = groups().Commit("g", one, {.member_id = "c", .generation = 2});
  EXPECT_THAT(s.message(), HasSubstr("unknown member 'c'"));
  s = groups().Commit("g", one);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("2 live members"));
  EXPECT_TRUE(groups()
                  .Commit("g", {{.tp = {"t", 0}, .offset = 2}},
                          {.member_id = "a", .generation = 2})
                  .ok());
  EXPECT_EQ(groups().FetchCommitted("g")->at({"t", 0}).offset, 2);
  // Once empty, commits come from outside the membership again.
  ASSERT_TRUE(groups().LeaveGroup("g", "a").ok());
  ASSERT_TRUE(groups().LeaveGroup("g", "b").ok());
  EXPECT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 3}}).ok());
  s = groups().Commit("g", one, {.member_id = "a", .generation = 4});
  EXPECT_THAT(s.message(), HasSubstr("unknown member 'a'"));
}

TEST_F(ConsumerGroupMembershipTest, StrategyIsTheGroupsWhileItHasMembers) {
  CreateTopic("t", 2);
  Join("g", "a", {"t"}, AssignmentStrategy::kSticky);
  auto r = groups().JoinGroup(
      "g", {.topics = {"t"}, .strategy = AssignmentStrategy::kRange});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("uses the 'sticky' strategy"));
  ASSERT_TRUE(groups().LeaveGroup("g", "a").ok());
  EXPECT_TRUE(groups()
                  .JoinGroup("g", {.topics = {"t"},
                                   .strategy = AssignmentStrategy::kRange})
                  .ok());
  EXPECT_EQ(Describe("g").strategy, AssignmentStrategy::kRange);
}

TEST_F(ConsumerGroupMembershipTest, JoinValidatesItsRequest) {
  struct Case {
    JoinGroupRequest request;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {{.topics = {}}, "at least one topic"},
      {{.topics = {"bad/topic"}}, "bad/topic"},
      {{.topics = {"t"}, .session_timeout = absl::Milliseconds(10)},
       "session timeout 10ms is outside [100ms, 1h]"},
      {{.topics = {"t"}, .session_timeout = absl::Hours(2)}, "outside"},
      {{.member_id = std::string(300, 'm'), .topics = {"t"}},
       "invalid member id"},
  };
  for (const Case& c : cases) {
    auto r = groups().JoinGroup("g", c.request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << c.fragment;
    EXPECT_THAT(r.status().message(), HasSubstr(c.fragment));
  }
  EXPECT_EQ(groups().JoinGroup("", {.topics = {"t"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(groups().Heartbeat("g", "", 1).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConsumerGroupMembershipTest, StickyMovesOnlyWhatItMust) {
  CreateTopic("t", 6);
  const auto kSticky = AssignmentStrategy::kSticky;
  JoinGroupResult a = Join("g", "a", {"t"}, kSticky);
  EXPECT_EQ(a.assignment.size(), 6u);
  JoinGroupResult b = Join("g", "b", {"t"}, kSticky);
  a = Join("g", "a", {"t"}, kSticky);
  EXPECT_EQ(a.assignment.size(), 3u);
  EXPECT_EQ(b.assignment.size(), 3u);
  const std::vector<TopicPartition> a_before = a.assignment;
  const std::vector<TopicPartition> b_before = b.assignment;
  JoinGroupResult c = Join("g", "c", {"t"}, kSticky);
  a = Join("g", "a", {"t"}, kSticky);
  b = Join("g", "b", {"t"}, kSticky);
  EXPECT_EQ(c.generation, 3);
  EXPECT_EQ(a.generation, 3);
  // Each keeps 2 of its 3; exactly 2 partitions move, to c.
  auto kept = [](const std::vector<TopicPartition>& now,
                 const std::vector<TopicPartition>& before) {
    int n = 0;
    for (const auto& tp : now) {
      n += std::count(before.begin(), before.end(), tp) > 0;
    }
    return n;
  };
  EXPECT_EQ(kept(a.assignment, a_before), 2);
  EXPECT_EQ(kept(b.assignment, b_before), 2);
  EXPECT_EQ(c.assignment.size(), 2u);
}

TEST_F(ConsumerGroupMembershipTest, TopicChangesStartANewGeneration) {
  JoinGroupResult a = Join("g", "a", {"later", "t"});
  EXPECT_THAT(a.assignment, IsEmpty());  // neither topic exists yet
  CreateTopic("later", 2);
  absl::Status s = groups().Heartbeat("g", "a", a.generation);
  EXPECT_THAT(s.message(), HasSubstr("rebalance needed"));
  a = Join("g", "a", {"later", "t"});
  EXPECT_EQ(a.generation, 2);
  EXPECT_THAT(a.assignment, ElementsAre(TopicPartition{"later", 0},
                                        TopicPartition{"later", 1}));
  ASSERT_TRUE(engine_->AddPartitions("later", 3).ok());
  a = Join("g", "a", {"later", "t"});  // a rejoin notices as well
  EXPECT_EQ(a.generation, 3);
  EXPECT_EQ(a.assignment.size(), 3u);
  ASSERT_TRUE(engine_->DeleteTopic("later").ok());
  EXPECT_FALSE(groups().Heartbeat("g", "a", 3).ok());
  a = Join("g", "a", {"later", "t"});
  EXPECT_EQ(a.generation, 4);
  EXPECT_THAT(a.assignment, IsEmpty());
}

// A model-based run: random joins (new members, changed subscriptions),
// leaves and session expiries on a group of each strategy; after every
// step the assignments in DescribeGroup must assign every partition of
// every subscribed topic exactly once, to a subscriber, and equal what the
// assignor computes from the group's members.
TEST_F(ConsumerGroupMembershipTest, AssignmentsCoverEveryPartitionOnce) {
  const std::vector<std::pair<std::string, int>> topics = {
      {"t0", 1}, {"t1", 3}, {"t2", 5}, {"t3", 8}};
  for (const auto& [name, n] : topics) CreateTopic(name, n);
  const uint32_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  for (AssignmentStrategy strategy :
       {AssignmentStrategy::kRange, AssignmentStrategy::kRoundRobin,
        AssignmentStrategy::kSticky}) {
    const std::string group(AssignmentStrategyName(strategy));
    for (int step = 0; step < 40; ++step) {
      const int op = static_cast<int>(rng() % 10);
      const std::string member = absl::StrFormat("m%d", rng() % 6);
      if (op < 6) {
        std::vector<std::string> subs;
        for (const auto& [name, n] : topics) {
          if (rng() % 2) subs.push_back(name);
        }
        if (subs.empty()) subs.push_back("t3");
        Join(group, member, subs, strategy);
      } else if (op < 8) {
        groups().LeaveGroup(group, member).IgnoreError();  // may be unknown
      } else {
        std::vector<MemberDescription> was;
        if (auto before = groups().DescribeGroup(group); before.ok()) {
          was = before->members;
        }
        clock_.Advance(absl::Seconds(11));  // every session runs out...
        for (const MemberDescription& m : was) {
          if (rng() % 2) Join(group, m.member_id, m.topics, strategy);
        }
      }
      auto described = groups().DescribeGroup(group);
      if (absl::IsNotFound(described.status())) continue;  // nothing joined yet
      ASSERT_TRUE(described.ok()) << described.status();
      const GroupDescription& d = *described;
      std::map<TopicPartition, int> owners;
      std::vector<MemberSubscription> subs;
      for (const MemberDescription& m : d.members) {
        for (const TopicPartition& tp : m.assignment) {
          ++owners[tp];
          EXPECT_TRUE(std::count(m.topics.begin(), m.topics.end(), tp.topic))
              << m.member_id << " got " << tp.ToString();
        }
        subs.push_back({m.member_id, m.topics, {}, -1});
      }
      std::set<std::string> subscribed;
      for (const auto& m : d.members) {
        subscribed.insert(m.topics.begin(), m.topics.end());
      }
      size_t expected = 0;
      for (const auto& [name, n] : topics) {
        if (subscribed.count(name)) expected += n;
      }
      EXPECT_EQ(owners.size(), expected) << group << " step " << step;
      for (const auto& [tp, count] : owners) {
        EXPECT_EQ(count, 1) << tp.ToString() << " step " << step;
      }
      if (strategy != AssignmentStrategy::kSticky) {
        std::vector<TopicPartitions> all;
        for (const auto& [name, n] : topics) all.push_back({name, n});
        auto want = Assign(strategy, all, subs);
        ASSERT_TRUE(want.ok());
        for (const MemberDescription& m : d.members) {
          EXPECT_EQ(m.assignment, want->at(m.member_id)) << m.member_id;
        }
      }
    }
  }
}

}  // namespace
}  // namespace spool

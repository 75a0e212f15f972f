// Committed offsets: commit, fetch, validation, reset, delete, expiry,
// persistence and crashes.

#include "spool/consumer_groups.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/consumer_group_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ConsumerGroupsTest : public testing_util::GroupTestBase {};

TEST_F(ConsumerGroupsTest, CommitAndFetchRoundTrip) {
  CreateTopic("t", 3);
  Produce("t", 0, 5);
  Produce("t", 2, 3);
  const absl::Time commit_time = clock_.Now();
  ASSERT_TRUE(groups()
                  .Commit("g", {{.tp = {"t", 0},
                                 .offset = 4,
                                 .leader_epoch = 7,
                                 .metadata = "worker-1"},
                                {.tp = {"t", 2}, .offset = 3}})
                  .ok());
  auto all = groups().FetchCommitted("g");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  const CommittedOffset& c0 = all->at({"t", 0});
  EXPECT_EQ(c0.offset, 4);
  EXPECT_EQ(c0.leader_epoch, 7);
  EXPECT_EQ(c0.metadata, "worker-1");
  EXPECT_EQ(c0.commit_time, commit_time);
  EXPECT_EQ(all->at({"t", 2}).offset, 3);
  EXPECT_EQ(all->at({"t", 2}).leader_epoch, kNoLeaderEpoch);

  // Selected partitions: one without a commit maps to the sentinel.
  auto some = groups().FetchCommitted(
      "g", std::vector<TopicPartition>{{"t", 1}, {"t", 2}});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->at({"t", 1}).offset, kNoCommittedOffset);
  EXPECT_EQ(some->at({"t", 2}).offset, 3);

  // A later commit replaces; a group that does not exist has none.
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 5}}).ok());
  EXPECT_EQ(groups().FetchCommitted("g")->at({"t", 0}).offset, 5);
  auto none = groups().FetchCommitted("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
  EXPECT_THAT(*groups().ListGroups(), ElementsAre("g"));
}

TEST_F(ConsumerGroupsTest, GroupsAreSeparateEvenWithSharedPrefixes) {
  CreateTopic("t", 1);
  Produce("t", 0, 10);
  ASSERT_TRUE(groups().Commit("a", {{.tp = {"t", 0}, .offset = 1}}).ok());
  ASSERT_TRUE(groups().Commit("ab", {{.tp = {"t", 0}, .offset = 2}}).ok());
  ASSERT_TRUE(groups().Commit("a b", {{.tp = {"t", 0}, .offset = 3}}).ok());
  EXPECT_EQ(groups().FetchCommitted("a")->size(), 1u);
  EXPECT_EQ(groups().FetchCommitted("a")->at({"t", 0}).offset, 1);
  ASSERT_TRUE(groups().DeleteGroup("a").ok());
  EXPECT_EQ(groups().FetchCommitted("ab")->at({"t", 0}).offset, 2);
  EXPECT_EQ(groups().FetchCommitted("a b")->at({"t", 0}).offset, 3);
  EXPECT_THAT(*groups().ListGroups(), ElementsAre("a b", "ab"));
}

TEST_F(ConsumerGroupsTest, ValidationErrorsSayWhatIsWrong) {
  CreateTopic("t", 2);
  Produce("t", 0, 3);
  auto commit = [&](std::string_view group, TopicPartition tp, int64_t offset,
                    std::string metadata = "") {
    return groups().Commit(
        group, {{.tp = tp, .offset = offset, .metadata = metadata}});
  };
  struct Case {
    absl::Status status;
    absl::StatusCode code;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {commit("", {"t", 0}, 1), absl::StatusCode::kInvalidArgument,
       "must be 1 to 249 bytes"},
      {commit(std::string(250, 'g'), {"t", 0}, 1),
       absl::StatusCode::kInvalidArgument, "not 250"},
      {commit(std::string(249, 'g'), {"t", 0}, 1), absl::StatusCode::kOk, ""},
      {commit("tab\tgroup", {"t", 0}, 1), absl::StatusCode::kInvalidArgument,
       "control character 0x09"},
      {commit("bad\xff", {"t", 0}, 1), absl::StatusCode::kInvalidArgument,
       "not valid UTF-8"},
      {commit("g", {"missing", 0}, 1), absl::StatusCode::kNotFound,
       "unknown topic 'missing'"},
      {commit("g", {"t", 5}, 1), absl::StatusCode::kNotFound,
       "no partition 5 (it has 2)"},
      {commit("g", {"t", 0}, 4), absl::StatusCode::kOutOfRange,
       "offset 4 for t-0 is beyond the log end 3"},
      {commit("g", {"t", 0}, -1), absl::StatusCode::kInvalidArgument,
       "offset -1 for t-0 is negative"},
      {commit("g", {"t", 0}, 1, std::string(4097, 'm')),
       absl::StatusCode::kInvalidArgument, "4097 bytes"},
      {groups().Commit("g", {}), absl::StatusCode::kInvalidArgument,
       "has no offsets"},
      {groups().Commit(
           "g", {{.tp = {"t", 0}, .offset = 1}, {.tp = {"t", 0}, .offset = 2}}),
       absl::StatusCode::kInvalidArgument, "t-0 appears twice"},
      {groups().Commit("g", {{.tp = {"t", 0}, .offset = 1}}, {.generation = 3}),
       absl::StatusCode::kInvalidArgument, "without a member id"},
      {groups().FetchCommitted("").status(), absl::StatusCode::kInvalidArgument,
       "invalid group name"},
      {groups().DescribeGroup("g").status(), absl::StatusCode::kNotFound,
       "unknown consumer group 'g'"},
      {groups().DeleteGroup("g"), absl::StatusCode::kNotFound,
       "unknown consumer group 'g'"},
      {groups().Lag("g").status(), absl::StatusCode::kNotFound,
       "unknown consumer group 'g'"},
      {groups().ExpireGroups(absl::ZeroDuration()).status(),
       absl::StatusCode::kInvalidArgument, "must be positive"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(cases[i].status.code(), cases[i].code)
        << "case " << i << ": " << cases[i].status;
    EXPECT_THAT(cases[i].status.message(), HasSubstr(cases[i].fragment))
        << "case " << i;
  }
  // Offset 0, the log end, and offsets below the log start are fine.
  EXPECT_TRUE(commit("ok", {"t", 1}, 0).ok());
  EXPECT_TRUE(commit("ok", {"t", 0}, 3).ok());
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"t", 0}, 2).ok());
  EXPECT_TRUE(commit("ok", {"t", 0}, 1).ok());
  // None of the rejected commits made a group.
  EXPECT_THAT(*groups().ListGroups(), ElementsAre(std::string(249, 'g'), "ok"));
}

TEST_F(ConsumerGroupsTest, ACommitWithOneBadEntryStoresNothing) {
  CreateTopic("t", 2);
  Produce("t", 0, 3);
  Produce("t", 1, 3);
  ASSERT_TRUE(groups()
                  .Commit("g", {{.tp = {"t", 0}, .offset = 1},
                                {.tp = {"t", 1}, .offset = 1}})
                  .ok());
  absl::Status s = groups().Commit(
      "g", {{.tp = {"t", 0}, .offset = 2}, {.tp = {"t", 1}, .offset = 9}});
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  auto c = groups().FetchCommitted("g");
  EXPECT_EQ(c->at({"t", 0}).offset, 1);
  EXPECT_EQ(c->at({"t", 1}).offset, 1);
}

TEST_F(ConsumerGroupsTest, ResetToEarliestLatestTimestampAndOffset) {
  CreateTopic("t", 2);
  Produce("t", 0, 10);
  const int64_t middle_ms = clock_.NowMillis() + 1000;
  clock_.Advance(absl::Seconds(2));
  Produce("t", 0, 10);
  Produce("t", 1, 4);
  ASSERT_TRUE(engine_->DeleteRecordsBefore({"t", 0}, 3).ok());
  using Kind = ResetSpec::Kind;
  auto reset = [&](ResetSpec spec) {
    auto r = groups().ResetOffsets("g", "t", spec);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::map<TopicPartition, int64_t>();
  };
  std::map<TopicPartition, int64_t> want = {{{"t", 0}, 3}, {{"t", 1}, 0}};
  EXPECT_EQ(reset({.kind = Kind::kEarliest}), want);
  want = {{{"t", 0}, 20}, {{"t", 1}, 4}};
  EXPECT_EQ(reset({.kind = Kind::kLatest}), want);
  // Partition 0's second half is newer than middle_ms; partition 1 too.
  want = {{{"t", 0}, 10}, {{"t", 1}, 0}};
  EXPECT_EQ(reset({.kind = Kind::kTimestamp, .value = middle_ms}), want);
  want = {{{"t", 0}, 20}, {{"t", 1}, 4}};  // every record older: the end
  EXPECT_EQ(reset({.kind = Kind::kTimestamp, .value = middle_ms + 3600000}),
            want);
  want = {{{"t", 0}, 3}, {{"t", 1}, 2}};  // clamped into [start, end]
  EXPECT_EQ(reset({.kind = Kind::kOffset, .value = 2}), want);
  auto one = groups().ResetOffsets(
      "g", "t", {.kind = Kind::kOffset, .value = 7}, std::vector<int32_t>{0});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto c = groups().FetchCommitted("g");
  EXPECT_EQ(c->at({"t", 0}).offset, 7);
  EXPECT_EQ(c->at({"t", 1}).offset, 2);

  EXPECT_EQ(groups().ResetOffsets("g", "nope", {}).status().code(),
            absl::StatusCode::kNotFound);
  auto bad = groups().ResetOffsets("g", "t", {}, std::vector<int32_t>{2});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(bad.status().message(), HasSubstr("no partition 2 (it has 2)"));
  bad = groups().ResetOffsets("g", "t", {.kind = Kind::kOffset, .value = -1});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  // A group with live members cannot be reset.
  ASSERT_TRUE(groups().JoinGroup("g", {.topics = {"t"}}).ok());
  bad = groups().ResetOffsets("g", "t", {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(bad.status().message(), HasSubstr("1 live members"));
}

TEST_F(ConsumerGroupsTest, DeleteGroupRemovesItsOffsetsButNotWithLiveMembers) {
  CreateTopic("t", 1);
  Produce("t", 0, 3);
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 2}}).ok());
  auto joined = groups().JoinGroup("g", {.topics = {"t"}});
  ASSERT_TRUE(joined.ok());
  absl::Status s = groups().DeleteGroup("g");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("1 live members"));
  ASSERT_TRUE(groups().LeaveGroup("g", joined->member_id).ok());
  ASSERT_TRUE(groups().DeleteGroup("g").ok());
  EXPECT_THAT(*groups().ListGroups(), IsEmpty());
  EXPECT_THAT(*groups().FetchCommitted("g"), IsEmpty());
  Reopen();
  EXPECT_THAT(*groups().ListGroups(), IsEmpty());
  EXPECT_THAT(*groups().FetchCommitted("g"), IsEmpty());
}

TEST_F(ConsumerGroupsTest, EmptyIdleGroupsExpireAfterTheRetention) {
  CreateTopic("t", 1);
  Produce("t", 0, 3);
  ASSERT_TRUE(groups().Commit("idle", {{.tp = {"t", 0}, .offset = 1}}).ok());
  ASSERT_TRUE(groups().Commit("active", {{.tp = {"t", 0}, .offset = 1}}).ok());
  auto member = groups().JoinGroup(
      "members", {.topics = {"t"}, .session_timeout = absl::Hours(1)});
  ASSERT_TRUE(member.ok());
  // Time passes while the member heartbeats every half hour.
  auto pass = [&](absl::Duration d) {
    for (; d > absl::ZeroDuration(); d -= absl::Minutes(30)) {
      clock_.Advance(absl::Minutes(30));
      ASSERT_TRUE(
          groups()
              .Heartbeat("members", member->member_id, member->generation)
              .ok());
    }
  };
  const absl::Duration retention = absl::Hours(24);
  pass(absl::Hours(20));
  ASSERT_TRUE(groups().Commit("active", {{.tp = {"t", 0}, .offset = 2}}).ok());
  auto expired = groups().ExpireGroups(retention);
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(*expired, IsEmpty());
  pass(absl::Hours(5));
  // "idle": empty and no commit for 25 h. "active" committed 5 h ago;
  // "members" has a member.
  expired = groups().ExpireGroups(retention);
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(*expired, ElementsAre("idle"));
  EXPECT_THAT(*groups().ListGroups(), ElementsAre("active", "members"));
  EXPECT_THAT(*groups().FetchCommitted("idle"), IsEmpty());
  EXPECT_THAT(*groups().ExpireGroups(absl::InfiniteDuration()), IsEmpty());
  // The member stops: its session runs out, the group is empty from then
  // on and expires a retention later.
  clock_.Advance(absl::Hours(2));
  EXPECT_THAT(*groups().ExpireGroups(retention), IsEmpty());
  auto d = groups().DescribeGroup("members");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, GroupState::kEmpty);
  clock_.Advance(retention + absl::Minutes(1));
  EXPECT_THAT(*groups().ExpireGroups(retention),
              ElementsAre("active", "members"));
}

TEST_F(ConsumerGroupsTest, ExpiryWorksAfterRestartFromStoredCommitTimes) {
  CreateTopic("t", 1);
  Produce("t", 0, 3);
  ASSERT_TRUE(groups().Commit("old", {{.tp = {"t", 0}, .offset = 1}}).ok());
  clock_.Advance(absl::Hours(10));
  ASSERT_TRUE(groups().Commit("new", {{.tp = {"t", 0}, .offset = 1}}).ok());
  Reopen();
  clock_.Advance(absl::Hours(10));
  EXPECT_THAT(*groups().ExpireGroups(absl::Hours(15)), ElementsAre("old"));
  EXPECT_THAT(*groups().ListGroups(), ElementsAre("new"));
}

TEST_F(ConsumerGroupsTest, PeriodicMaintenanceExpiresGroups) {
  engine_.reset();
  EngineOptions o = Options();
  o.group_offsets_retention = absl::Hours(1);
  Open(o);
  CreateTopic("t", 1);
  Produce("t", 0, 1);
  ASSERT_TRUE(groups().Commit("g", {{.tp = {"t", 0}, .offset = 1}}).ok());
  clock_.Advance(absl::Hours(2));
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!groups().ListGroups()->empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(*groups().ListGroups(), IsEmpty());
  EXPECT_THAT(engine_->Metrics(),
              HasSubstr("spool_consumer_groups_expired_total 1\n"));
}

TEST_F(ConsumerGroupsTest, InvalidRetentionOptionIsRejected) {
  EngineOptions o = Options();
  o.data_dirs = {"/disk1/spool"};
  o.group_offsets_retention = absl::ZeroDuration();
  auto e = Engine::Open(o);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("group_offsets_retention"));
}

TEST_F(ConsumerGroupsTest, DeleteTopicDropsItsCommittedOffsets) {
  CreateTopic("t", 2);
  CreateTopic("u", 1);
  Produce("t", 0, 3);
  Produce("u", 0, 3);
  ASSERT_TRUE(groups()
                  .Commit("g", {{.tp = {"t", 0}, .offset = 2},
                                {.tp = {"u", 0}, .offset = 3}})
                  .ok());
  ASSERT_TRUE(groups().Commit("h", {{.tp = {"t", 0}, .offset = 1}}).ok());
  ASSERT_TRUE(engine_->DeleteTopic("t").ok());
  auto g = groups().FetchCommitted("g");
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ(g->begin()->first, (TopicPartition{"u", 0}));
  EXPECT_THAT(*groups().FetchCommitted("h"), IsEmpty());
  // A topic made again under the name starts without offsets.
  CreateTopic("t", 2);
  EXPECT_THAT(*groups().FetchCommitted("h"), IsEmpty());
  EXPECT_EQ(groups().Commit("h", {{.tp = {"t", 0}, .offset = 1}}).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(ConsumerGroupsTest, OffsetsAndMembershipSurviveARestart) {
  CreateTopic("t", 4);
  Produce("t", 1, 5);
  auto a = groups().JoinGroup(
      "g", {.topics = {"t"}, .strategy = AssignmentStrategy::kRoundRobin});
  ASSERT_TRUE(a.ok());
  auto b = groups().JoinGroup(
      "g", {.topics = {"t"}, .strategy = AssignmentStrategy::kRoundRobin});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(
      groups()
          .Commit("g", {{.tp = {"t", 1}, .offset = 4, .metadata = "m"}},
                  {.member_id = b->member_id, .generation = b->generation})
          .ok());
  auto before = groups().DescribeGroup("g");
  ASSERT_TRUE(before.ok());
  Reopen();
  auto after = groups().DescribeGroup("g");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->generation, 2);
  EXPECT_EQ(after->strategy, AssignmentStrategy::kRoundRobin);
  ASSERT_EQ(after->members.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after->members[i].member_id, before->members[i].member_id);
    EXPECT_EQ(after->members[i].assignment, before->members[i].assignment);
    EXPECT_EQ(after->members[i].topics, before->members[i].topics);
  }
  EXPECT_EQ(after->offsets.at({"t", 1}).offset, 4);
  EXPECT_EQ(after->offsets.at({"t", 1}).metadata, "m");
  // The members are still members: b commits again under generation 2.
  EXPECT_TRUE(groups()
                  .Commit("g", {{.tp = {"t", 1}, .offset = 5}},
                          {.member_id = b->member_id, .generation = 2})
                  .ok());
  EXPECT_TRUE(groups().Heartbeat("g", a->member_id, 2).ok());
}

TEST_F(ConsumerGroupsTest, SyncedCommitsSurvivePowerLoss) {
  CreateTopic("t", 2);
  for (int p = 0; p < 2; ++p) {
    ASSERT_TRUE(
        engine_
            ->ProduceBatch("t", std::vector<Record>(100, {.value = "x"}),
                           {.durability = Durability::kSync, .partition = p})
            .ok());
  }
  std::map<TopicPartition, int64_t> synced;
  for (int i = 1; i <= 100; ++i) {
    const TopicPartition tp{"t", i % 2};
    const bool sync = i % 3 != 0;
    ASSERT_TRUE(
        groups().Commit("g", {{.tp = tp, .offset = i}}, {.sync = sync}).ok());
    if (sync) synced[tp] = i;
  }
  CrashAndReopen();
  auto c = groups().FetchCommitted("g");
  ASSERT_TRUE(c.ok()) << c.status();
  for (const auto& [tp, offset] : synced) {
    // Offsets only grow here, so a later (unsynced) commit may show too.
    ASSERT_TRUE(c->contains(tp)) << tp.ToString();
    EXPECT_GE(c->at(tp).offset, offset) << tp.ToString();
    EXPECT_LE(c->at(tp).offset, 100) << tp.ToString();
  }
  EXPECT_THAT(*groups().ListGroups(), ElementsAre("g"));
}

// One Commit is one write batch: after power losses that cut the tables'
// unsynced tail anywhere, each commit of four partitions is there whole or
// not at all (all four show the same commit), and never older than the
// last synced one.
TEST_F(ConsumerGroupsTest, MultiPartitionCommitsAreAllOrNothingAcrossCrashes) {
  constexpr int kPartitions = 4, kCommits = 60;
  CreateTopic("t", kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_TRUE(
        engine_
            ->ProduceBatch("t", std::vector<Record>(kCommits, {.value = "x"}),
                           {.durability = Durability::kSync, .partition = p})
            .ok());
  }
  int64_t synced = 0;
  for (int crash = 0; crash < 4; ++crash) {
    for (int i = 1; i <= kCommits; ++i) {
      std::vector<OffsetCommit> commit;
      for (int p = 0; p < kPartitions; ++p) {
        commit.push_back({.tp = {"t", p},
                          .offset = i,
                          .metadata = absl::StrFormat("crash %d", crash)});
      }
      const bool sync = i % 16 == 0;
      ASSERT_TRUE(groups().Commit("g", commit, {.sync = sync}).ok());
      if (sync) synced = i;
    }
    CrashAndReopen();
    auto c = groups().FetchCommitted("g");
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->size(), static_cast<size_t>(kPartitions)) << "crash " << crash;
    const CommittedOffset& first = c->begin()->second;
    for (const auto& [tp, o] : *c) {
      EXPECT_EQ(o.offset, first.offset)
          << "crash " << crash << " " << tp.ToString();
      EXPECT_EQ(o.metadata, first.metadata)
          << "crash " << crash << " " << tp.ToString();
    }
    // The round's last synced commit (48) or a later one of the round.
    EXPECT_EQ(first.metadata, absl::StrFormat("crash %d", crash));
    EXPECT_GE(first.offset, synced) << "crash " << crash;
  }
}

TEST_F(ConsumerGroupsTest, ClosedEngineRefusesGroupCalls) {
  CreateTopic("t", 1);
  ASSERT_TRUE(engine_->Close().ok());
  EXPECT_EQ(groups().Commit("g", {{.tp = {"t", 0}, .offset = 0}}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(groups().FetchCommitted("g").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(groups().JoinGroup("g", {.topics = {"t"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(groups().ListGroups().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spool

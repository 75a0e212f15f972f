// FaultInjectionFileSystem::SimulatePowerLoss: which states a crash can
// leave, checked against small reference models over many seeds.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "io/fault_injection_file_system.h"
#include "io/io_test_util.h"

namespace spool {
namespace {

using ::spool::testing_io::HasStatus;
using ::spool::testing_io::RandomBytes;

OpenOptions Create() {
  OpenOptions options;
  options.create = true;
  return options;
}

PowerLossOptions Mode(PowerLossMode mode, std::optional<uint64_t> seed = {}) {
  PowerLossOptions options;
  options.mode = mode;
  options.seed = seed;
  return options;
}

class FaultInjectionPowerLossTest : public ::testing::Test {
 protected:
  FaultInjectionPowerLossTest() : fs_(/*seed=*/7) {
    // A durable directory to work in.
    EXPECT_TRUE(fs_.CreateDir("/d").ok());
    EXPECT_TRUE(fs_.SyncDir("/").ok());
  }

  std::unique_ptr<File> Open(const std::string& path) {
    auto file = fs_.Open(path, Create());
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  // Contents after the power loss, or nullopt if the file is gone.
  std::optional<std::string> Contents(const std::string& path) {
    absl::StatusOr<std::string> contents = fs_.ReadFile(path);
    if (absl::IsNotFound(contents.status())) return std::nullopt;
    EXPECT_TRUE(contents.ok()) << contents.status();
    return contents.ok() ? std::optional<std::string>(*contents) : std::nullopt;
  }

  FaultInjectionFileSystem fs_;
};

TEST_F(FaultInjectionPowerLossTest, DropsUnsyncedDataAndKeepsSyncedData) {
  auto file = Open("/d/log");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(file->Write(0, "synced|").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Write(7, "lost").ok());
  ASSERT_TRUE(file->Truncate(3).ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/log"), "synced|");
  EXPECT_EQ(fs_.UnsyncedBytes(), 0u);
  EXPECT_EQ(fs_.counters().power_losses, 1u);
}

TEST_F(FaultInjectionPowerLossTest, SyncedFileInUnsyncedDirectoryDisappears) {
  auto file = Open("/d/new");
  ASSERT_TRUE(file->Write(0, "data").ok());
  ASSERT_TRUE(file->Sync().ok());  // data durable, name not
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/new"), std::nullopt);
  EXPECT_TRUE(fs_.ListFiles().empty());
}

TEST_F(FaultInjectionPowerLossTest, SyncedFileInSyncedDirectorySurvives) {
  auto file = Open("/d/new");
  ASSERT_TRUE(file->Write(0, "data").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/new"), "data");
}

TEST_F(FaultInjectionPowerLossTest, CreatedButUnsyncedFileSurvivesEmpty) {
  auto file = Open("/d/new");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(file->Write(0, "data").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/new"), "");
}

TEST_F(FaultInjectionPowerLossTest, RenameWithoutDirectorySyncReverts) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/checkpoint", "v1").ok());
  auto tmp = Open("/d/checkpoint.tmp");
  ASSERT_TRUE(tmp->Write(0, "v2").ok());
  ASSERT_TRUE(tmp->Sync().ok());
  ASSERT_TRUE(fs_.Rename("/d/checkpoint.tmp", "/d/checkpoint").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/checkpoint"), "v1");
  EXPECT_EQ(Contents("/d/checkpoint.tmp"), std::nullopt);
}

// The process keeps running into a crash only in a test: SimulateCrash
// stops it at the same instant as the power, so a thread that goes on
// (the segment cleaner of run seed 212) cannot rename or remove files of
// the rebooted tree. The old segment stays, and so does the sync's
// failure.
TEST_F(FaultInjectionPowerLossTest, SimulateCrashStopsTheProcessWithThePower) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/0.log", "old").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/0.log.cleaned", "new").ok());
  ASSERT_TRUE(fs_.Rename("/d/0.log.cleaned", "/d/0.log.swap").ok());
  fs_.SimulateCrash({.mode = PowerLossMode::kDropUnsynced});
  // What the still-running process tries next all fails.
  EXPECT_TRUE(
      HasStatus(fs_.SyncDir("/d"), absl::StatusCode::kUnavailable, "injected"));
  EXPECT_TRUE(HasStatus(fs_.Rename("/d/0.log", "/d/0.log.deleted"),
                        absl::StatusCode::kUnavailable, "injected"));
  EXPECT_TRUE(HasStatus(fs_.Remove("/d/0.log"), absl::StatusCode::kUnavailable,
                        "injected"));
  EXPECT_TRUE(HasStatus(fs_.Open("/d/25.log", Create()).status(),
                        absl::StatusCode::kUnavailable, "injected"));
  fs_.ClearFaults();
  EXPECT_EQ(Contents("/d/0.log"), "old");
  EXPECT_EQ(Contents("/d/0.log.cleaned"), "new");  // the rename was undone
  EXPECT_EQ(Contents("/d/0.log.swap"), std::nullopt);
  EXPECT_EQ(Contents("/d/25.log"), std::nullopt);
}

TEST_F(FaultInjectionPowerLossTest, RenameFollowedByDirectorySyncSurvives) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/checkpoint", "v1").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/checkpoint", "v2").ok());
  fs_.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomSubset));
  EXPECT_EQ(Contents("/d/checkpoint"), "v2");
  EXPECT_EQ(fs_.ListFiles(), std::vector<std::string>{"/d/checkpoint"});
}

TEST_F(FaultInjectionPowerLossTest, RemoveWithoutDirectorySyncReappears) {
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/old-segment", "kept").ok());
  ASSERT_TRUE(fs_.Remove("/d/old-segment").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/old-segment"), "kept");
}

TEST_F(FaultInjectionPowerLossTest, NewDirectoryNeedsItsParentSynced) {
  ASSERT_TRUE(fs_.CreateDir("/d/topic-0").ok());
  ASSERT_TRUE(
      fs_.WriteFileAtomic("/d/topic-0/meta", "x").ok());  // syncs topic-0
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(*fs_.Exists("/d/topic-0"));

  ASSERT_TRUE(fs_.CreateDir("/d/topic-0").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/topic-0/meta", "x").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/topic-0/meta"), "x");
}

TEST_F(FaultInjectionPowerLossTest, CreateDirsMakesNewDirectoriesDurable) {
  fs_.ResetCounters();
  ASSERT_TRUE(fs_.CreateDirs("/d/a/b/c").ok());
  EXPECT_EQ(fs_.counters().sync_dirs, 3u);  // /d, /d/a, /d/a/b
  fs_.SimulatePowerLoss();
  EXPECT_TRUE(fs_.Stat("/d/a/b/c")->is_directory);
}

TEST_F(FaultInjectionPowerLossTest, MoveSyncedOnlyInTargetKeepsBothNames) {
  ASSERT_TRUE(fs_.CreateDir("/e").ok());
  ASSERT_TRUE(fs_.SyncDir("/").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/f", "x").ok());
  ASSERT_TRUE(fs_.Rename("/d/f", "/e/f").ok());
  ASSERT_TRUE(fs_.SyncDir("/e").ok());
  fs_.SimulatePowerLoss();
  // Both directories durably name the file: two links to one file.
  EXPECT_EQ(fs_.ListFiles(), (std::vector<std::string>{"/d/f", "/e/f"}));
  auto file = Open("/e/f");
  ASSERT_TRUE(file->Write(0, "y").ok());
  EXPECT_EQ(Contents("/d/f"), "y");
  ASSERT_TRUE(fs_.Remove("/e/f").ok());
  EXPECT_EQ(Contents("/d/f"), "y");
}

TEST_F(FaultInjectionPowerLossTest, MoveSyncedOnlyInSourceLosesTheFile) {
  ASSERT_TRUE(fs_.CreateDir("/e").ok());
  ASSERT_TRUE(fs_.SyncDir("/").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/d/f", "x").ok());
  ASSERT_TRUE(fs_.Rename("/d/f", "/e/f").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_TRUE(fs_.ListFiles().empty());
}

TEST_F(FaultInjectionPowerLossTest, DirectoryNamedTwiceKeepsItsFirstName) {
  ASSERT_TRUE(fs_.CreateDirs("/a/sub").ok());
  ASSERT_TRUE(fs_.CreateDir("/b").ok());
  ASSERT_TRUE(fs_.SyncDir("/").ok());
  ASSERT_TRUE(fs_.WriteFileAtomic("/a/sub/f", "x").ok());
  ASSERT_TRUE(fs_.Rename("/a/sub", "/b/sub").ok());
  ASSERT_TRUE(fs_.SyncDir("/b").ok());
  EXPECT_EQ(fs_.DurableSnapshot().directories,
            (std::set<std::string>{"/a", "/a/sub", "/b", "/d"}));
  fs_.SimulatePowerLoss();
  EXPECT_EQ(fs_.ListFiles(), std::vector<std::string>{"/a/sub/f"});
  EXPECT_TRUE(fs_.ListDir("/b")->empty());
}

TEST_F(FaultInjectionPowerLossTest, OldHandlesAreDeadAfterPowerLoss) {
  auto file = Open("/d/f");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_TRUE(
      HasStatus(file->Write(0, "x"), absl::StatusCode::kFailedPrecondition,
                "write /d/f: file handle invalidated by simulated power loss"));
  char c;
  EXPECT_TRUE(HasStatus(file->Read(0, 1, &c),
                        absl::StatusCode::kFailedPrecondition, "read /d/f"));
  EXPECT_TRUE(HasStatus(file->Sync(), absl::StatusCode::kFailedPrecondition,
                        "invalidated by simulated power loss"));
  EXPECT_TRUE(HasStatus(file->Size(), absl::StatusCode::kFailedPrecondition,
                        "size /d/f"));
  EXPECT_TRUE(HasStatus(file->Close(), absl::StatusCode::kFailedPrecondition,
                        "close /d/f"));
  EXPECT_EQ(fs_.open_file_count(), 0u);
  // The file system itself works: reopen and write.
  auto reopened = Open("/d/f");
  EXPECT_TRUE(reopened->Write(0, "y").ok());
  EXPECT_EQ(fs_.open_file_count(), 1u);
}

TEST_F(FaultInjectionPowerLossTest, LocksAreReleasedByPowerLoss) {
  auto lock = fs_.Lock("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  fs_.SimulatePowerLoss();
  auto again = fs_.Lock("/d/LOCK");
  EXPECT_TRUE(again.ok()) << again.status();
  lock->reset();  // the stale lock must not release the new one
  EXPECT_TRUE(HasStatus(fs_.Lock("/d/LOCK"),
                        absl::StatusCode::kFailedPrecondition, "/d/LOCK"));
}

TEST_F(FaultInjectionPowerLossTest, CapacityIsRecomputedAfterPowerLoss) {
  fs_.SetCapacity(100);
  auto file = Open("/d/f");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(file->Write(0, std::string(100, 'x')).ok());
  EXPECT_EQ(fs_.used_bytes(), 100u);
  fs_.SimulatePowerLoss();
  EXPECT_EQ(fs_.used_bytes(), 0u);
}

// ---- Allowed states of the two keep modes, against a reference model.

struct Change {
  bool truncate = false;
  uint64_t offset = 0;  // or the new size
  std::string bytes;
};

void Apply(const Change& change, std::string* contents) {
  if (change.truncate) {
    contents->resize(change.offset, '\0');
    return;
  }
  if (change.bytes.empty()) return;
  const size_t end = change.offset + change.bytes.size();
  if (contents->size() < end) contents->resize(end, '\0');
  contents->replace(change.offset, change.bytes.size(), change.bytes);
}

// kKeepRandomPrefix may leave: durable + changes[0, k) for some k, or that
// plus a strict, non-empty prefix of the bytes of write k.
bool IsPrefixState(const std::string& durable,
                   const std::vector<Change>& changes,
                   const std::string& result, bool* torn) {
  std::string state = durable;
  for (size_t k = 0; k <= changes.size(); ++k) {
    if (state == result) return true;
    if (k == changes.size()) break;
    const Change& next = changes[k];
    for (size_t t = 1; !next.truncate && t < next.bytes.size(); ++t) {
      std::string partial = state;
      Apply({false, next.offset, next.bytes.substr(0, t)}, &partial);
      if (partial == result) {
        *torn = true;
        return true;
      }
    }
    Apply(next, &state);
  }
  return false;
}

// The changes cut into the pieces kKeepRandomSubset chooses among.
std::vector<Change> SectorPieces(const std::vector<Change>& changes) {
  std::vector<Change> pieces;
  for (const Change& change : changes) {
    if (change.truncate) {
      pieces.push_back(change);
      continue;
    }
    uint64_t position = change.offset;
    size_t done = 0;
    while (done < change.bytes.size()) {
      const size_t n =
          std::min<size_t>(change.bytes.size() - done, 512 - position % 512);
      pieces.push_back({false, position, change.bytes.substr(done, n)});
      done += n;
      position += n;
    }
  }
  return pieces;
}

// kKeepRandomSubset may leave: durable + some subset of the sector pieces,
// applied in program order. Exhaustive, so only for a few pieces.
bool IsSubsetState(const std::string& durable,
                   const std::vector<Change>& pieces,
                   const std::string& result) {
  for (uint64_t mask = 0; mask < (uint64_t{1} << pieces.size()); ++mask) {
    std::string state = durable;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (mask & (uint64_t{1} << i)) Apply(pieces[i], &state);
    }
    if (state == result) return true;
  }
  return false;
}

// The per-byte rule for subset states with writes only: every byte is the
// durable byte, a byte some unsynced write put at that position, or (past
// the durable end) a zero of a hole; the size is the durable size or the
// end of some piece.
::testing::AssertionResult BytesAreAllowed(const std::string& durable,
                                           const std::vector<Change>& pieces,
                                           const std::string& result) {
  bool size_ok = result.size() == durable.size();
  for (const Change& piece : pieces) {
    size_ok |= result.size() == piece.offset + piece.bytes.size();
  }
  if (!size_ok) {
    return ::testing::AssertionFailure() << "size " << result.size();
  }
  for (size_t i = 0; i < result.size(); ++i) {
    bool ok = (i < durable.size() && result[i] == durable[i]) ||
              (i >= durable.size() && result[i] == '\0');
    for (const Change& piece : pieces) {
      ok |= i >= piece.offset && i < piece.offset + piece.bytes.size() &&
            piece.bytes[i - piece.offset] == result[i];
    }
    if (!ok) return ::testing::AssertionFailure() << "byte " << i;
  }
  return ::testing::AssertionSuccess();
}

// Random writes (and optionally truncations) to two files, then a crash.
struct Scenario {
  std::string durable[2];
  std::vector<Change> changes[2];
};

Scenario RunScenario(FaultInjectionFileSystem& fs, std::mt19937_64& rng,
                     int changes_per_file, size_t max_write, bool truncates) {
  Scenario scenario;
  for (int f = 0; f < 2; ++f) {
    const std::string path = absl::StrCat("/f", f);
    auto file = std::move(*fs.Open(path, Create()));
    const std::string base = RandomBytes(rng, rng() % 1500);
    EXPECT_TRUE(file->Write(0, base).ok());
    EXPECT_TRUE(file->Sync().ok());
    scenario.durable[f] = base;
    uint64_t size = base.size();
    for (int i = 0; i < changes_per_file; ++i) {
      Change change;
      if (truncates && rng() % 4 == 0) {
        change = {true, rng() % (size + 600), ""};
        EXPECT_TRUE(file->Truncate(change.offset).ok());
        size = change.offset;
      } else {
        change = {false, rng() % (size + 300),
                  RandomBytes(rng, 1 + rng() % max_write)};
        EXPECT_TRUE(file->Write(change.offset, change.bytes).ok());
        size = std::max<uint64_t>(size, change.offset + change.bytes.size());
      }
      scenario.changes[f].push_back(change);
    }
  }
  EXPECT_TRUE(fs.SyncDir("/").ok());
  return scenario;
}

TEST_F(FaultInjectionPowerLossTest, PrefixModeLeavesOnlyPrefixStates) {
  int torn_files = 0;
  int full_files = 0;
  int durable_only_files = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    FaultInjectionFileSystem fs(seed);
    std::mt19937_64 rng(seed);
    const Scenario scenario = RunScenario(fs, rng, 1 + seed % 6, 700, true);
    fs.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomPrefix));
    for (int f = 0; f < 2; ++f) {
      const std::string result = *fs.ReadFile(absl::StrCat("/f", f));
      bool torn = false;
      ASSERT_TRUE(IsPrefixState(scenario.durable[f], scenario.changes[f],
                                result, &torn))
          << "file " << f;
      torn_files += torn;
      durable_only_files += result == scenario.durable[f];
      std::string all = scenario.durable[f];
      for (const Change& change : scenario.changes[f]) Apply(change, &all);
      full_files += result == all;
    }
  }
  // Every kind of outcome happens.
  EXPECT_GT(torn_files, 20);
  EXPECT_GT(full_files, 20);
  EXPECT_GT(durable_only_files, 20);
}

TEST_F(FaultInjectionPowerLossTest, SubsetModeLeavesOnlySubsetStates) {
  int reordered = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    FaultInjectionFileSystem fs(seed);
    std::mt19937_64 rng(seed);
    // At most 3 writes of up to 700 bytes: few enough pieces to enumerate.
    const Scenario scenario = RunScenario(fs, rng, 1 + seed % 3, 700, false);
    fs.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomSubset));
    for (int f = 0; f < 2; ++f) {
      const std::string result = *fs.ReadFile(absl::StrCat("/f", f));
      const std::vector<Change> pieces = SectorPieces(scenario.changes[f]);
      ASSERT_LE(pieces.size(), 12u);
      ASSERT_TRUE(IsSubsetState(scenario.durable[f], pieces, result))
          << "file " << f;
      ASSERT_TRUE(BytesAreAllowed(scenario.durable[f], pieces, result));
      bool torn = false;
      reordered += !IsPrefixState(scenario.durable[f], scenario.changes[f],
                                  result, &torn);
    }
  }
  // Many results are not a prefix: later pieces landed, earlier ones not.
  EXPECT_GT(reordered, 50);
}

TEST_F(FaultInjectionPowerLossTest, SubsetModeBytesAreAllowedForLongRuns) {
  for (uint64_t seed = 0; seed < 100; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    FaultInjectionFileSystem fs(seed);
    std::mt19937_64 rng(seed);
    const Scenario scenario = RunScenario(fs, rng, 20, 2000, false);
    fs.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomSubset));
    for (int f = 0; f < 2; ++f) {
      const std::string result = *fs.ReadFile(absl::StrCat("/f", f));
      ASSERT_TRUE(BytesAreAllowed(scenario.durable[f],
                                  SectorPieces(scenario.changes[f]), result));
    }
  }
}

TEST_F(FaultInjectionPowerLossTest, SubsetModeWithTruncationsIsASubset) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    FaultInjectionFileSystem fs(seed);
    std::mt19937_64 rng(seed);
    const Scenario scenario = RunScenario(fs, rng, 1 + seed % 3, 600, true);
    fs.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomSubset));
    for (int f = 0; f < 2; ++f) {
      const std::string result = *fs.ReadFile(absl::StrCat("/f", f));
      ASSERT_TRUE(IsSubsetState(scenario.durable[f],
                                SectorPieces(scenario.changes[f]), result));
    }
  }
}

TEST_F(FaultInjectionPowerLossTest, SameSeedLeavesSameState) {
  auto crash = [](uint64_t fs_seed, std::optional<uint64_t> crash_seed) {
    FaultInjectionFileSystem fs(fs_seed);
    std::mt19937_64 rng(99);  // the same operations every time
    RunScenario(fs, rng, 10, 1500, true);
    fs.SimulatePowerLoss(Mode(PowerLossMode::kKeepRandomSubset, crash_seed));
    return fs.CurrentSnapshot();
  };
  EXPECT_EQ(crash(1, std::nullopt), crash(1, std::nullopt));
  EXPECT_NE(crash(1, std::nullopt), crash(2, std::nullopt));
  // An explicit crash seed replays one crash whatever the file system seed.
  EXPECT_EQ(crash(1, 1234), crash(2, 1234));
}

TEST_F(FaultInjectionPowerLossTest, DirectoryPrefixOptionMayKeepNewEntries) {
  int kept = 0;
  int dropped = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    FaultInjectionFileSystem fs(seed);
    auto file = std::move(*fs.Open("/new", Create()));
    ASSERT_TRUE(file->Write(0, "data").ok());
    ASSERT_TRUE(file->Sync().ok());
    PowerLossOptions options;
    options.keep_random_directory_prefix = true;
    fs.SimulatePowerLoss(options);
    if (*fs.Exists("/new")) {
      EXPECT_EQ(*fs.ReadFile("/new"), "data");
      ++kept;
    } else {
      ++dropped;
    }
  }
  EXPECT_GT(kept, 5);
  EXPECT_GT(dropped, 5);
}

TEST_F(FaultInjectionPowerLossTest, WriteFileAtomicIsAtomicAtEveryFailure) {
  // Fail each step of the second WriteFileAtomic in turn, then crash: the
  // file holds the old or the new contents, never a mix or nothing.
  for (int step = 1; step <= 6; ++step) {
    for (PowerLossMode mode :
         {PowerLossMode::kKeepRandomPrefix, PowerLossMode::kKeepRandomSubset}) {
      SCOPED_TRACE(absl::StrCat("step ", step));
      FaultInjectionFileSystem fs(step);
      ASSERT_TRUE(fs.WriteFileAtomic("/cp", std::string(1000, 'o')).ok());
      fs.InjectFault({.op = FaultOp::kAny, .nth = step, .torn_write = true});
      const absl::Status status =
          fs.WriteFileAtomic("/cp", std::string(1000, 'n'));
      // Open, Write, Sync, Rename, SyncDir: five operations can fail.
      EXPECT_EQ(status.ok(), step > 5) << status;
      fs.ClearFaults();
      fs.SimulatePowerLoss(Mode(mode));
      const std::string contents = *fs.ReadFile("/cp");
      EXPECT_TRUE(contents == std::string(1000, 'o') ||
                  contents == std::string(1000, 'n'));
      if (status.ok()) {
        EXPECT_EQ(contents, std::string(1000, 'n'));
      }
    }
  }
}

TEST_F(FaultInjectionPowerLossTest, FailedSyncIsNotDurable) {
  auto file = Open("/d/f");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(file->Write(0, "record").ok());
  fs_.InjectFault({.op = FaultOp::kSync, .nth = 1});
  ASSERT_FALSE(file->Sync().ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Contents("/d/f"), "");
}

// ---- Model-based: random namespace and data operations in one directory
// with drop-mode power losses, checked against a plain reference.

class ReferenceModel {
 public:
  void Create(const std::string& name) {
    if (!names_.contains(name)) names_[name] = NewFile();
  }
  void Write(const std::string& name, uint64_t offset,
             const std::string& bytes) {
    Apply({false, offset, bytes}, &files_[names_.at(name)].current);
  }
  void Sync(const std::string& name) {
    RefFile& file = files_[names_.at(name)];
    file.durable = file.current;
  }
  void Rename(const std::string& from, const std::string& to) {
    const int id = names_.at(from);
    names_.erase(from);
    names_[to] = id;
  }
  void Remove(const std::string& name) { names_.erase(name); }
  void SyncDir() { durable_names_ = names_; }
  void PowerLoss() {
    names_ = durable_names_;
    for (auto& [id, file] : files_) file.current = file.durable;
  }
  bool Exists(const std::string& name) const { return names_.contains(name); }
  FileSystemSnapshot Current() const { return View(names_, false); }
  FileSystemSnapshot Durable() const { return View(durable_names_, true); }

 private:
  struct RefFile {
    std::string current;
    std::string durable;
  };
  int NewFile() {
    files_[next_id_] = RefFile();
    return next_id_++;
  }
  FileSystemSnapshot View(const std::map<std::string, int>& names,
                          bool durable) const {
    FileSystemSnapshot snapshot;
    snapshot.directories.insert("/d");
    for (const auto& [name, id] : names) {
      const RefFile& file = files_.at(id);
      snapshot.files["/d/" + name] = durable ? file.durable : file.current;
    }
    return snapshot;
  }

  std::map<std::string, int> names_;
  std::map<std::string, int> durable_names_;
  std::map<int, RefFile> files_;
  int next_id_ = 0;
};

TEST_F(FaultInjectionPowerLossTest, RandomOperationsMatchReferenceModel) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    FaultInjectionFileSystem fs(seed);
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    ASSERT_TRUE(fs.SyncDir("/").ok());
    ReferenceModel model;
    std::mt19937_64 rng(seed);
    const std::vector<std::string> names = {"a", "b", "c", "d"};
    for (int step = 0; step < 400; ++step) {
      const std::string& name = names[rng() % names.size()];
      const std::string& other = names[rng() % names.size()];
      const std::string path = "/d/" + name;
      switch (rng() % 8) {
        case 0:
          ASSERT_TRUE(fs.Open(path, Create()).ok());
          model.Create(name);
          break;
        case 1:
        case 2:
          if (model.Exists(name)) {
            const uint64_t offset = rng() % 64;
            const std::string bytes = RandomBytes(rng, 1 + rng() % 32);
            ASSERT_TRUE(
                (*fs.Open(path, OpenOptions()))->Write(offset, bytes).ok());
            model.Write(name, offset, bytes);
          }
          break;
        case 3:
          if (model.Exists(name)) {
            ASSERT_TRUE((*fs.Open(path, OpenOptions()))->Sync().ok());
            model.Sync(name);
          }
          break;
        case 4:
          if (model.Exists(name)) {
            ASSERT_TRUE(fs.Rename(path, "/d/" + other).ok());
            model.Rename(name, other);
          }
          break;
        case 5:
          if (model.Exists(name) && rng() % 2 == 0) {
            ASSERT_TRUE(fs.Remove(path).ok());
            model.Remove(name);
          }
          break;
        case 6:
          ASSERT_TRUE(fs.SyncDir("/d").ok());
          model.SyncDir();
          break;
        case 7:
          ASSERT_EQ(fs.DurableSnapshot(), model.Durable()) << "step " << step;
          fs.SimulatePowerLoss();
          model.PowerLoss();
          break;
      }
      ASSERT_EQ(fs.CurrentSnapshot(), model.Current()) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace spool

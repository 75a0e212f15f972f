// spool corrupt: damages a segment file on purpose, for crash-recovery
// testing: truncate at a byte, flip a bit, zero a range, or drop what a
// power loss could lose (everything from the batch holding the checkpointed
// recovery point on). Works on a copy (<file>.corrupt) unless --in-place.

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "log/checkpoint_file.h"
#include "log/file_batch_reader.h"
#include "log/log_directory.h"
#include "tools/cli.h"
#include "tools/path_kind.h"
#include "util/status_macros.h"

namespace spool::cli {
namespace {

// "A:B" as two non-negative integers.
bool ParsePair(const std::string& text, int64_t* a, int64_t* b) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], a) &&
         absl::SimpleAtoi(parts[1], b) && *a >= 0 && *b >= 0;
}

absl::Status Copy(FileSystem* fs, const std::string& from,
                  const std::string& to) {
  SPOOL_ASSIGN_OR_RETURN(auto in, fs->Open(from, {.read_only = true}));
  SPOOL_ASSIGN_OR_RETURN(auto out,
                         fs->Open(to, {.create = true, .truncate = true}));
  std::string buf(1 << 20, '\0');
  for (uint64_t pos = 0;;) {
    SPOOL_ASSIGN_OR_RETURN(size_t n, in->Read(pos, buf.size(), buf.data()));
    if (n == 0) break;
    SPOOL_RETURN_IF_ERROR(out->Write(pos, std::string_view(buf.data(), n)));
    pos += n;
  }
  return out->Sync();
}

// The recovery point of the partition holding `log`, from its data
// directory's checkpoint (0 when there is no entry).
absl::StatusOr<int64_t> RecoveryPoint(FileSystem* fs, const ClassifiedPath& p) {
  DataDirState state = ProbeDataDir(fs, p);
  std::optional<TopicPartition> tp =
      ParsePartitionDirName(BaseName(PartitionDirOf(p)));
  if (state.dir.empty() || !tp.has_value()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not in a partition directory of a data directory: no "
        "recovery-point-offset-checkpoint to read",
        p.path));
  }
  SPOOL_ASSIGN_OR_RETURN(
      OffsetCheckpoint c,
      ReadOffsetCheckpoint(fs, JoinPath(state.dir, kRecoveryPointCheckpoint)));
  auto it = c.find(*tp);
  return it == c.end() ? 0 : it->second;
}

// Position of the first batch whose last offset is >= `offset` (the file
// size if none).
absl::StatusOr<uint64_t> CutPosition(const File& file, int64_t offset) {
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  FileBatchReader reader(file, 0, size, {.verify_crc = false});
  ScannedBatch b;
  while (reader.Next(&b)) {
    if (b.batch.header().last_offset() >= offset) return b.position;
  }
  return reader.valid_end();
}

struct Action {
  std::string name;  // the flag
  int64_t a = 0, b = 0;
};

// Applies `action` to the open file; returns what was done.
absl::StatusOr<std::string> Apply(FileSystem* fs, const ClassifiedPath& src,
                                  File& file, const Action& action) {
  SPOOL_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  const auto beyond = [&](int64_t at) {
    return absl::OutOfRangeError(absl::StrFormat(
        "byte %d is beyond the end of the file (%d bytes)", at, size));
  };
  if (action.name == "truncate-at") {
    if (static_cast<uint64_t>(action.a) > size) return beyond(action.a);
    SPOOL_RETURN_IF_ERROR(file.Truncate(action.a));
    return absl::StrFormat("truncated at byte %d (dropped %d bytes)", action.a,
                           size - action.a);
  }
  if (action.name == "flip-bit") {
    if (static_cast<uint64_t>(action.a) >= size) return beyond(action.a);
    char c;
    SPOOL_RETURN_IF_ERROR(file.Read(action.a, 1, &c).status());
    const char flipped = static_cast<char>(c ^ (1 << action.b));
    SPOOL_RETURN_IF_ERROR(file.Write(action.a, std::string_view(&flipped, 1)));
    return absl::StrFormat("flipped bit %d of byte %d (0x%02x -> 0x%02x)",
                           action.b, action.a, static_cast<uint8_t>(c),
                           static_cast<uint8_t>(flipped));
  }
  if (action.name == "zero") {
    if (static_cast<uint64_t>(action.b) > size) return beyond(action.b);
    SPOOL_RETURN_IF_ERROR(
        file.Write(action.a, std::string(action.b - action.a, '\0')));
    return absl::StrFormat("zeroed bytes [%d, %d) (%d bytes)", action.a,
                           action.b, action.b - action.a);
  }
  // drop-unsynced
  SPOOL_ASSIGN_OR_RETURN(int64_t rp, RecoveryPoint(fs, src));
  SPOOL_ASSIGN_OR_RETURN(uint64_t cut, CutPosition(file, rp));
  SPOOL_RETURN_IF_ERROR(file.Truncate(cut));
  return absl::StrFormat(
      "recovery point %d: dropped the batches holding offsets >= %d: "
      "truncated at byte %d (dropped %d bytes)",
      rp, rp, cut, size - cut);
}

// Reads the one action flag; false after a usage error.
bool ReadAction(const Args& args, Action* action, int* exit) {
  int count = 0;
  for (const char* name :
       {"truncate-at", "flip-bit", "zero", "drop-unsynced"}) {
    if (args.Has(name)) {
      action->name = name;
      ++count;
    }
  }
  if (count != 1) {
    *exit = args.UsageError(
        "give exactly one of --truncate-at, --flip-bit, --zero, "
        "--drop-unsynced");
    return false;
  }
  if (action->name == "truncate-at") action->a = args.GetInt("truncate-at");
  if (action->name == "flip-bit" &&
      (!ParsePair(args.Get("flip-bit"), &action->a, &action->b) ||
       action->b > 7)) {
    *exit = args.UsageError("--flip-bit needs BYTE:BIT with BIT in 0..7");
    return false;
  }
  if (action->name == "zero" &&
      (!ParsePair(args.Get("zero"), &action->a, &action->b) ||
       action->a >= action->b)) {
    *exit = args.UsageError("--zero needs START:END with START < END");
    return false;
  }
  if (action->a < 0) {
    *exit = args.UsageError("byte positions must not be negative");
    return false;
  }
  return true;
}

int RunCorrupt(int argc, char** argv) {
  Args args(
      "corrupt", "<action> [--in-place | --output FILE] <segment file>",
      "Damages a segment file for crash-recovery testing. Writes a copy\n"
      "(<file>.corrupt, or --output) unless --in-place. Actions:\n"
      "  --truncate-at N   cut the file at byte N\n"
      "  --flip-bit B:I    flip bit I (0 = least significant) of byte B\n"
      "  --zero A:B        overwrite bytes [A, B) with zeros\n"
      "  --drop-unsynced   (.log) cut at the first batch holding an offset\n"
      "                    >= the partition's checkpointed recovery point");
  args.AddFlag({"truncate-at", "N", "cut the file at byte N"})
      .AddFlag({"flip-bit", "BYTE:BIT", "flip one bit"})
      .AddFlag({"zero", "START:END", "zero the bytes [START, END)"})
      .AddFlag({"drop-unsynced", "",
                "drop what a power loss could lose (.log files)"})
      .AddFlag({"in-place", "", "modify the file itself"})
      .AddFlag({"output", "FILE", "write the damaged copy here"});
  int exit = 0;
  if (!args.Parse(argc, argv, &exit)) return exit;
  Action action;
  if (!ReadAction(args, &action, &exit)) return exit;
  if (args.positional().size() != 1) {
    return args.UsageError("expected exactly one file");
  }
  if (args.Has("in-place") && args.Has("output")) {
    return args.UsageError("--in-place and --output exclude each other");
  }
  FileSystem* fs = FileSystem::Default();
  absl::StatusOr<ClassifiedPath> path = ClassifyPath(fs, args.positional()[0]);
  if (path.ok() && (path->kind == PathKind::kPartitionDir ||
                    path->kind == PathKind::kDataDir ||
                    (action.name == "drop-unsynced" &&
                     path->kind != PathKind::kLogSegment))) {
    path = absl::InvalidArgumentError(absl::StrFormat(
        "%s is a %s; corrupt takes a segment file%s", path->path,
        PathKindName(path->kind),
        action.name == "drop-unsynced" ? " (.log for --drop-unsynced)" : ""));
  }
  if (!path.ok()) return FailPath("corrupt", path.status());
  const bool in_place = args.Has("in-place");
  if (in_place && ProbeDataDir(fs, *path).engine_running) {
    return Fail("corrupt", absl::FailedPreconditionError(
                               "refusing to modify a file while an engine "
                               "holds its data directory"));
  }
  std::string target =
      in_place
          ? path->path
          : (args.Has("output") ? args.Get("output") : path->path + ".corrupt");
  if (!in_place) {
    if (absl::Status s = Copy(fs, path->path, target); !s.ok()) {
      return Fail("corrupt", s);
    }
  }
  absl::StatusOr<std::unique_ptr<File>> file = fs->Open(target, {});
  if (!file.ok()) return Fail("corrupt", file.status());
  absl::StatusOr<std::string> done = Apply(fs, *path, **file, action);
  if (done.ok()) {
    absl::Status s = (*file)->Sync();
    if (!s.ok()) done = s;
  }
  if (!done.ok()) return Fail("corrupt", done.status());
  std::cout << target << ": " << *done
            << (in_place ? "" : absl::StrCat(" (copy of ", path->path, ")"))
            << "\n";
  return kExitOk;
}

const bool kRegistered = RegisterCommand(
    {"corrupt", "damage a segment file on purpose (crash-recovery testing)",
     RunCorrupt});

}  // namespace
}  // namespace spool::cli

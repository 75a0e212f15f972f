// The compaction part of `spool demo`: a compacted "conversation state"
// topic holding the chat bot's latest state per conversation
// (docs/compaction.md).

#ifndef SPOOL_TOOLS_DEMO_STATE_H_
#define SPOOL_TOOLS_DEMO_STATE_H_

#include "absl/status/status.h"
#include "spool/engine.h"

namespace spool::cli {

// (Re)creates topic "conversation-state" (cleanup policy compact, small
// segments), writes several state updates per conversation and a tombstone
// for a closed one, compacts it with Engine::Compact and prints what
// remains: one record per conversation, at its latest offset. Fails with
// kInternal if more than one record of a key is left.
absl::Status RunConversationState(Engine& engine);

}  // namespace spool::cli

#endif  // SPOOL_TOOLS_DEMO_STATE_H_

#include "log/dedup_window.h"

#include "util/strings.h"

namespace spool {

std::optional<int64_t> DedupWindow::Find(std::string_view id, int64_t now_ms) {
  auto it = ids_.find(ToAbsl(id));
  if (it == ids_.end() || it->second.time_ms < now_ms - window_ms_) {
    return std::nullopt;
  }
  return it->second.offset;
}

void DedupWindow::Add(std::string_view id, int64_t offset, int64_t time_ms) {
  ids_[ToAbsl(id)] = {offset, time_ms};
  order_.emplace_back(std::string(id), time_ms);
  while (static_cast<int64_t>(ids_.size()) > max_ids_) PopOldest();
  Expire(time_ms);
}

void DedupWindow::PopOldest() {
  while (!order_.empty()) {
    auto [id, time] = std::move(order_.front());
    order_.pop_front();
    auto it = ids_.find(id);
    if (it != ids_.end() && it->second.time_ms == time) {
      ids_.erase(it);
      return;
    }
  }
}

void DedupWindow::Expire(int64_t now_ms) {
  while (!order_.empty() && order_.front().second < now_ms - window_ms_) {
    auto it = ids_.find(order_.front().first);
    if (it != ids_.end() && it->second.time_ms == order_.front().second) {
      ids_.erase(it);
    }
    order_.pop_front();
  }
}

void DedupWindow::TruncateTo(int64_t offset) {
  for (auto it = ids_.begin(); it != ids_.end();) {
    if (it->second.offset >= offset) {
      ids_.erase(it++);
    } else {
      ++it;
    }
  }
}

void DedupWindow::Clear() {
  ids_.clear();
  order_.clear();
}

}  // namespace spool

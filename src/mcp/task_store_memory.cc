// The in-memory TaskStore (make_memory_task_store): tasks by id, per owner in creation order
// (tasks/list pages) with a count of the live ones (the per-owner limit), and by expiry (the
// sweep), under one mutex. Memory stays bounded: an owner keeps at most `max_per_owner` tasks,
// the oldest finished ones going first. Every operation completes without suspending.
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <unordered_map>

#include "idp/core/random.h"
#include "idp/mcp/tasks.h"

namespace idp::mcp {

namespace {

using boost::asio::awaitable;
using SysTime = std::chrono::system_clock::time_point;

std::optional<SysTime> expiry(const TaskRecord& t) {
  if (!t.ttl) return std::nullopt;
  return t.created_at + *t.ttl;
}

class MemoryTaskStore final : public TaskStore {
 public:
  explicit MemoryTaskStore(std::size_t max_per_owner) : max_per_owner_(max_per_owner) {}

  awaitable<Result<void>> create(TaskRecord task, std::size_t max_live) override {
    std::lock_guard lock(mu_);
    if (tasks_.contains(task.task_id)) {
      co_return make_error(ErrorCode::kInvalidArgument, "task id " + task.task_id + " is taken");
    }
    Owned& owned = by_owner_[task.owner];
    if (owned.live >= max_live) {
      co_return make_error(ErrorCode::kResourceExhausted,
                           "too many tasks running: " + std::to_string(owned.live) +
                               " of at most " + std::to_string(max_live) +
                               " per caller; wait for one to finish or cancel one");
    }
    // Make room: the owner's oldest finished tasks go first.
    for (auto it = owned.tasks.begin();
         owned.tasks.size() >= max_per_owner_ && it != owned.tasks.end();) {
      auto t = tasks_.find(it->second);
      if (t != tasks_.end() && !is_terminal(t->second.record.status)) {
        ++it;
        continue;
      }
      if (t != tasks_.end()) erase(t);
      it = owned.tasks.erase(it);
    }
    const std::uint64_t seq = next_seq_++;
    owned.tasks.emplace(seq, task.task_id);
    if (!is_terminal(task.status)) ++owned.live;
    Entry entry{seq, std::move(task), expiries_.end()};
    if (auto at = expiry(entry.record)) entry.expiry = expiries_.emplace(*at, entry.record.task_id);
    std::string id = entry.record.task_id;
    tasks_.emplace(std::move(id), std::move(entry));
    co_return Result<void>{};
  }

  awaitable<Result<TaskRecord>> get(std::string owner, std::string task_id) override {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.record.owner != owner || expired(it->second.record)) {
      co_return make_error(ErrorCode::kNotFound, "no task " + task_id);
    }
    co_return it->second.record;
  }

  awaitable<Result<TaskRecord>> update(TaskUpdate u) override {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(u.task_id);
    if (it == tasks_.end()) co_return make_error(ErrorCode::kNotFound, "no task " + u.task_id);
    TaskRecord& t = it->second.record;
    if (is_terminal(t.status)) co_return t;
    if (u.status) t.status = *u.status;
    if (u.status_message) t.status_message = std::move(*u.status_message);
    if (u.input_requests) t.input_requests = std::move(*u.input_requests);
    if (u.result) t.result = std::move(u.result);
    if (u.error) t.error = std::move(u.error);
    if (t.status != TaskStatus::kInputRequired) t.input_requests.clear();
    t.last_updated_at = std::chrono::system_clock::now();
    if (is_terminal(t.status)) --by_owner_[t.owner].live;
    co_return t;
  }

  awaitable<Result<TaskPage>> list(std::string owner, std::string cursor,
                                   std::size_t limit) override {
    std::uint64_t after = 0;
    if (!cursor.empty()) {
      auto raw = base64_decode(cursor);
      auto [p, ec] = raw ? std::from_chars(raw->data(), raw->data() + raw->size(), after)
                         : std::from_chars_result{nullptr, std::errc::invalid_argument};
      if (!raw || ec != std::errc() || p != raw->data() + raw->size()) {
        co_return make_error(ErrorCode::kInvalidArgument, "invalid tasks/list cursor");
      }
    }
    TaskPage page;
    std::uint64_t last = 0;
    std::lock_guard lock(mu_);
    auto owned = by_owner_.find(owner);
    if (owned == by_owner_.end()) co_return page;
    for (auto it = owned->second.tasks.upper_bound(after); it != owned->second.tasks.end(); ++it) {
      auto t = tasks_.find(it->second);
      if (t == tasks_.end() || expired(t->second.record)) continue;
      if (page.tasks.size() == limit) {
        page.next_cursor = base64url_encode(std::to_string(last));
        break;
      }
      page.tasks.push_back(t->second.record);
      last = it->first;
    }
    co_return page;
  }

  awaitable<std::vector<std::string>> remove_expired(SysTime now, std::size_t max) override {
    std::vector<std::string> removed;
    std::lock_guard lock(mu_);
    while (!expiries_.empty() && removed.size() < max && expiries_.begin()->first <= now) {
      std::string id = expiries_.begin()->second;
      auto it = tasks_.find(id);
      if (it == tasks_.end()) {
        expiries_.erase(expiries_.begin());
        continue;
      }
      auto owned = by_owner_.find(it->second.record.owner);
      if (owned != by_owner_.end()) owned->second.tasks.erase(it->second.seq);
      erase(it);
      if (owned != by_owner_.end() && owned->second.tasks.empty()) by_owner_.erase(owned);
      removed.push_back(std::move(id));
    }
    co_return removed;
  }

 private:
  struct Entry {
    std::uint64_t seq;
    TaskRecord record;
    std::multimap<SysTime, std::string>::iterator expiry;  // expiries_.end() without a ttl
  };
  struct Owned {
    std::map<std::uint64_t, std::string> tasks;  // by creation order
    std::size_t live = 0;                         // not terminal
  };

  static bool expired(const TaskRecord& t) {
    auto at = expiry(t);
    return at && *at <= std::chrono::system_clock::now();
  }

  // Drops a task from the id and expiry indexes (the caller fixes its owner's list); under mu_.
  void erase(std::unordered_map<std::string, Entry>::iterator it) {
    if (!is_terminal(it->second.record.status)) {
      auto owned = by_owner_.find(it->second.record.owner);
      if (owned != by_owner_.end() && owned->second.live > 0) --owned->second.live;
    }
    if (it->second.expiry != expiries_.end()) expiries_.erase(it->second.expiry);
    tasks_.erase(it);
  }

  const std::size_t max_per_owner_;
  std::mutex mu_;
  std::uint64_t next_seq_ = 1;
  std::unordered_map<std::string, Entry> tasks_;
  std::unordered_map<std::string, Owned> by_owner_;
  std::multimap<SysTime, std::string> expiries_;
};

}  // namespace

std::shared_ptr<TaskStore> make_memory_task_store(std::size_t max_per_owner) {
  return std::make_shared<MemoryTaskStore>(std::max<std::size_t>(1, max_per_owner));
}

}  // namespace idp::mcp

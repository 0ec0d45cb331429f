#include "answer_text.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <vector>

#include "idp/core/json_util.h"
#include "idp/core/text.h"

namespace idp::cli {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxCell = 40;
constexpr std::size_t kMaxRows = 50;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// `s` equals the start of "```json" (ASCII case-insensitive), whole when `whole`.
bool fence_prefix(std::string_view s, bool whole) {
  constexpr std::string_view kFence = "```json";
  if (s.size() > kFence.size() || (whole && s.size() != kFence.size())) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != kFence[i]) return false;
  }
  return true;
}

bool opens_json_fence(std::string_view line) { return fence_prefix(trimmed(line), true); }

std::string cell_text(const bj::value& v) {
  std::string s;
  if (v.is_double()) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());  // shortest form: 4.5, not 4.5E0
    s.assign(buf, r.ptr);
  } else {
    s = v.is_string() ? std::string(v.get_string()) : v.is_null() ? "" : bj::serialize(v);
  }
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > kMaxCell) s = std::string(utf8_prefix(s, kMaxCell - 3)) + "...";
  return s;
}

// Display width: code points, not bytes.
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string draw(const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows, std::size_t total) {
  std::vector<std::size_t> w(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) w[i] = width(headers[i]);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::string c = i < cells.size() ? cells[i] : "";
      out += c;
      if (i + 1 < w.size()) out += std::string(w[i] - width(c) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers);
  std::vector<std::string> rule;
  for (auto n : w) rule.push_back(std::string(n, '-'));
  out += line(rule);
  for (const auto& r : rows) out += line(r);
  if (total > rows.size()) {
    out += "(" + std::to_string(total - rows.size()) + " more rows; --events has them all)\n";
  }
  return out;
}

// table: {headers:[{id,label}|"name"], rows:[{id?, data:{col:v}} | {col:v} | [v...]]}, or an
// array of objects.
std::string render_table(const bj::value& data) {
  const bj::array* rows = data.is_array() ? &data.get_array() : nullptr;
  const bj::array* headers = nullptr;
  if (const auto* o = data.if_object()) {
    rows = ::idp::json::find_array(*o, "rows");
    headers = ::idp::json::find_array(*o, "headers");
  }
  if (!rows) return {};
  std::vector<std::string> ids;
  std::vector<std::string> labels;
  if (headers) {
    for (const auto& h : *headers) {
      if (h.is_string()) {
        ids.emplace_back(h.get_string());
        labels.emplace_back(h.get_string());
      } else if (const auto* ho = h.if_object()) {
        const auto* id = ::idp::json::find_string(*ho, "id");
        const auto* label = ::idp::json::find_string(*ho, "label");
        if (!id && !label) return {};
        ids.emplace_back(id ? *id : *label);
        labels.emplace_back(label ? *label : *id);
      }
    }
  } else {
    for (const auto& r : *rows) {
      const auto* ro = r.if_object();
      if (!ro) return {};
      for (const auto& [k, v] : *ro) {
        if (std::find(ids.begin(), ids.end(), k) == ids.end()) ids.emplace_back(k);
      }
    }
    labels = ids;
  }
  if (ids.empty()) return {};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : *rows) {
    if (cells.size() >= kMaxRows) break;
    std::vector<std::string> line;
    if (const auto* arr = r.if_array()) {
      for (std::size_t i = 0; i < ids.size(); ++i) line.push_back(i < arr->size() ? cell_text((*arr)[i]) : "");
    } else if (const auto* ro = r.if_object()) {
      const bj::object* values = ro;
      if (const auto* d = ro->if_contains("data"); d && d->is_object()) values = &d->get_object();
      for (const auto& id : ids) {
        const bj::value* v = values->if_contains(id);
        line.push_back(v ? cell_text(*v) : "");
      }
    } else {
      return {};
    }
    cells.push_back(std::move(line));
  }
  return draw(labels, cells, rows->size());
}

// plotData: {type, data:{labels, datasets:[{label, data}]}} (or the same without "data").
std::string render_plot(const bj::value& plot) {
  const auto* o = plot.if_object();
  if (!o) return {};
  const bj::object* d = o;
  if (const auto* inner = o->if_contains("data"); inner && inner->is_object()) d = &inner->get_object();
  const auto* labels = ::idp::json::find_array(*d, "labels");
  const auto* datasets = ::idp::json::find_array(*d, "datasets");
  if (!labels || !datasets) return {};
  std::vector<std::string> headers{""};
  for (const auto& ds : *datasets) {
    const auto* dso = ds.if_object();
    const auto* label = dso ? ::idp::json::find_string(*dso, "label") : nullptr;
    headers.push_back(label ? std::string(*label) : "value");
  }
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < labels->size() && rows.size() < kMaxRows; ++i) {
    std::vector<std::string> line{cell_text((*labels)[i])};
    for (const auto& ds : *datasets) {
      const auto* dso = ds.if_object();
      const auto* values = dso ? ::idp::json::find_array(*dso, "data") : nullptr;
      line.push_back(values && i < values->size() ? cell_text((*values)[i]) : "");
    }
    rows.push_back(std::move(line));
  }
  const auto* type = ::idp::json::find_string(*o, "type");
  std::string title = "(" + (type ? std::string(*type) : std::string("chart")) +
                      " chart; the web UI draws it)\n";
  return title + draw(headers, rows, labels->size());
}

}  // namespace

std::string AnswerTextFilter::feed(std::string_view delta) {
  std::string out;
  for (char c : delta) {
    if (at_line_start_) {
      line_.clear();
      holding_ = true;
      at_line_start_ = false;
    }
    if (holding_) {
      line_ += c;
      if (c == '\n') {
        std::string_view line(line_);
        if (in_fence_) {
          if (trimmed(line.substr(0, line.size() - 1)) == "```") in_fence_ = false;
        } else if (opens_json_fence(line.substr(0, line.size() - 1))) {
          in_fence_ = true;
        } else {
          out += line_;
        }
        at_line_start_ = true;
        holding_ = false;
        continue;
      }
      // Outside a fence a line is held only while it may still become "```json".
      if (!in_fence_) {
        std::string_view lead(line_);
        while (!lead.empty() && (lead.front() == ' ' || lead.front() == '\t')) lead.remove_prefix(1);
        if (!fence_prefix(lead, false)) {
          out += line_;
          holding_ = false;
        }
      }
      continue;
    }
    if (in_fence_) continue;  // unreachable: inside a fence every line is held
    out += c;
    if (c == '\n') at_line_start_ = true;
  }
  return out;
}

std::string AnswerTextFilter::finish() {
  std::string out;
  if (holding_ && !in_fence_ && !opens_json_fence(line_)) out = line_;
  line_.clear();
  holding_ = false;
  at_line_start_ = true;
  in_fence_ = false;
  return out;
}

std::string render_structured(const bj::object& event) {
  const auto* type = ::idp::json::find_string(event, "responseType");
  const bj::value* data = event.if_contains("data");
  if (!type || !data) return {};
  if (*type == "table") return render_table(*data);
  if (*type == "plotData") {
    if (const auto* arr = data->if_array()) {
      std::string out;
      for (const auto& p : *arr) out += render_plot(p);
      return out;
    }
    return render_plot(*data);
  }
  if (*type == "text" && data->is_string()) return std::string(data->get_string()) + "\n";
  return {};
}

}  // namespace idp::cli

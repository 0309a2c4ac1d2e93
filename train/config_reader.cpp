#include "train/config_reader.h"

#include <sstream>

#include "common/error.h"

namespace lmc::train {

void ConfigErrors::add(const std::string& path, const std::string& message) {
  messages_.push_back(path.empty() ? message : path + ": " + message);
}

void ConfigErrors::throw_if_any(const std::string& what) const {
  if (messages_.empty()) return;
  std::string text = std::to_string(messages_.size()) + (messages_.size() == 1 ? " problem in " : " problems in ") +
                     what + ": ";
  for (size_t i = 0; i < messages_.size(); ++i) text += (i ? "; " : "") + messages_[i];
  throw Error(text);
}

Check<int64_t> positive() {
  return [](const int64_t& v) -> std::optional<std::string> {
    if (v > 0) return std::nullopt;
    return "must be positive, got " + std::to_string(v);
  };
}

Check<int64_t> non_negative() {
  return [](const int64_t& v) -> std::optional<std::string> {
    if (v >= 0) return std::nullopt;
    return "must not be negative, got " + std::to_string(v);
  };
}

namespace {
std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

Check<double> positive_number() {
  return [](const double& v) -> std::optional<std::string> {
    if (v > 0) return std::nullopt;
    return "must be positive, got " + number_text(v);
  };
}

Check<double> in_range(double low, double high) {
  return [low, high](const double& v) -> std::optional<std::string> {
    if (v >= low && v <= high) return std::nullopt;
    return "must be in [" + number_text(low) + ", " + number_text(high) + "], got " + number_text(v);
  };
}

Check<std::string> one_of(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) -> std::optional<std::string> {
    for (const auto& a : allowed) {
      if (v == a) return std::nullopt;
    }
    std::string list;
    for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i];
    return "must be one of " + list + ", got '" + v + "'";
  };
}

ConfigMap::ConfigMap(YAML::Node node, std::string path, ConfigErrors& errors)
    : node_(std::move(node)), path_(std::move(path)), errors_(&errors) {}

std::string ConfigMap::path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

bool ConfigMap::has(const std::string& key) const {
  if (!node_.IsMap()) return false;
  const YAML::Node& map = node_;
  YAML::Node value = map[key];
  return value.IsDefined() && !value.IsNull();
}

template <typename T>
void ConfigMap::read_scalar(const std::string& key, T& out, const char* expected, const Check<T>& check) {
  read_.insert(key);
  if (!has(key)) return;
  const YAML::Node& map = node_;
  YAML::Node value = map[key];
  if (!value.IsScalar()) {
    errors_->add(path_of(key), std::string("expected ") + expected + ", got a " +
                                   (value.IsSequence() ? "list" : "mapping"));
    return;
  }
  T parsed{};
  try {
    parsed = value.as<T>();
  } catch (const YAML::Exception&) {
    errors_->add(path_of(key), std::string("expected ") + expected + ", got '" + value.Scalar() + "'");
    return;
  }
  if (check) {
    if (auto problem = check(parsed)) {
      errors_->add(path_of(key), *problem);
      return;
    }
  }
  out = parsed;
}

void ConfigMap::get(const std::string& key, int64_t& out, const Check<int64_t>& check) {
  read_scalar<int64_t>(key, out, "an integer", check);
}

void ConfigMap::get(const std::string& key, double& out, const Check<double>& check) {
  read_scalar<double>(key, out, "a number", check);
}

void ConfigMap::get(const std::string& key, bool& out) { read_scalar<bool>(key, out, "true or false", {}); }

void ConfigMap::get(const std::string& key, std::string& out, const Check<std::string>& check) {
  read_scalar<std::string>(key, out, "a string", check);
}

void ConfigMap::get(const std::string& key, std::optional<int64_t>& out, const Check<int64_t>& check) {
  int64_t value = 0;
  bool present = has(key);
  size_t before = errors_->messages().size();
  read_scalar<int64_t>(key, value, "an integer", check);
  if (present && errors_->messages().size() == before) out = value;
}

void ConfigMap::get(const std::string& key, std::vector<std::string>& out) {
  read_.insert(key);
  if (!has(key)) return;
  const YAML::Node& map = node_;
  YAML::Node value = map[key];
  if (value.IsScalar()) {
    out = {value.Scalar()};
    return;
  }
  if (!value.IsSequence()) {
    errors_->add(path_of(key), "expected a list of strings, got a mapping");
    return;
  }
  std::vector<std::string> items;
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].IsScalar()) {
      errors_->add(path_of(key) + "[" + std::to_string(i) + "]", "expected a string");
      return;
    }
    items.push_back(value[i].Scalar());
  }
  out = std::move(items);
}

void ConfigMap::require(const std::string& key) {
  if (!has(key)) errors_->add(path_of(key), "missing required key");
}

ConfigMap ConfigMap::section(const std::string& key) {
  read_.insert(key);
  if (!has(key)) return ConfigMap(YAML::Node(YAML::NodeType::Map), path_of(key), *errors_);
  const YAML::Node& map = node_;
  YAML::Node value = map[key];
  if (!value.IsMap()) {
    errors_->add(path_of(key), "expected a mapping of keys");
    return ConfigMap(YAML::Node(YAML::NodeType::Map), path_of(key), *errors_);
  }
  return ConfigMap(value, path_of(key), *errors_);
}

YAML::Node ConfigMap::raw(const std::string& key) {
  read_.insert(key);
  if (!node_.IsMap()) return YAML::Node();
  const YAML::Node& map = node_;
  return map[key];
}

void ConfigMap::finish() {
  if (!node_.IsMap()) return;
  for (const auto& item : node_) {
    std::string key = item.first.as<std::string>();
    if (!read_.count(key)) errors_->add(path_of(key), "unknown key");
  }
}

namespace {

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : key) {
    if (c == '.') {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

void set_path(YAML::Node node, const std::vector<std::string>& parts, size_t index, const YAML::Node& value,
              const std::string& key, ConfigErrors& errors) {
  const std::string& part = parts[index];
  if (index + 1 == parts.size()) {
    node[part] = value;
    return;
  }
  YAML::Node child = node[part];
  if (!child.IsDefined() || child.IsNull()) {
    node[part] = YAML::Node(YAML::NodeType::Map);
  } else if (!child.IsMap()) {
    std::string prefix;
    for (size_t i = 0; i <= index; ++i) prefix += (i ? "." : "") + parts[i];
    errors.add(key, "cannot override: '" + prefix + "' is not a section");
    return;
  }
  set_path(node[part], parts, index + 1, value, key, errors);
}

}  // namespace

void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides, ConfigErrors& errors) {
  for (const auto& item : overrides) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      errors.add(item, "an override must read key=value (e.g. optimizer.lr=1e-3)");
      continue;
    }
    std::string key = item.substr(0, eq);
    auto parts = split_key(key);
    bool empty_part = false;
    for (const auto& p : parts) empty_part |= p.empty();
    if (empty_part) {
      errors.add(key, "malformed key in override '" + item + "'");
      continue;
    }
    YAML::Node value;
    try {
      value = YAML::Load(item.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      errors.add(key, "override value is not valid YAML: " + e.msg);
      continue;
    }
    if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
    set_path(root, parts, 0, value, key, errors);
  }
}

}  // namespace lmc::train

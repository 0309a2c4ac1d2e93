// Reading a YAML recipe into typed fields while collecting every problem instead of stopping at the first:
// a wrong type, a value out of range or a key nobody asked for is recorded with its full key path
// ("optimizer.lr: expected a number, got 'fast'"), and ConfigErrors::throw_if_any() reports them all in one
// lmc::Error. Also applies command-line `key=value` overrides to the YAML tree before it is read. It knows
// nothing about what a recipe contains: train/recipe.cpp declares the fields.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace lmc::train {

class ConfigErrors {
 public:
  void add(const std::string& path, const std::string& message);
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  // Throws lmc::Error listing every problem ("N problems in RECIPE: a: ...; b: ...").
  void throw_if_any(const std::string& what) const;

 private:
  std::vector<std::string> messages_;
};

// A check on a value: returns an error message, or nothing when the value is fine.
template <typename T>
using Check = std::function<std::optional<std::string>(const T&)>;

Check<int64_t> positive();
Check<int64_t> non_negative();
Check<double> positive_number();
Check<double> in_range(double low, double high);  // low <= v <= high
Check<std::string> one_of(std::vector<std::string> allowed);

// One mapping of the recipe (the root or a nested section). Reading a key marks it known; finish()
// reports the keys no one read. Missing optional keys leave the caller's default in place.
class ConfigMap {
 public:
  ConfigMap(YAML::Node node, std::string path, ConfigErrors& errors);

  bool has(const std::string& key) const;  // present and not null
  // Reads `key` into `out` if present; records a type or check error otherwise.
  void get(const std::string& key, int64_t& out, const Check<int64_t>& check = {});
  void get(const std::string& key, double& out, const Check<double>& check = {});
  void get(const std::string& key, bool& out);
  void get(const std::string& key, std::string& out, const Check<std::string>& check = {});
  // A list of strings; a single string is accepted as a list of one.
  void get(const std::string& key, std::vector<std::string>& out);
  void get(const std::string& key, std::optional<int64_t>& out, const Check<int64_t>& check = {});
  // Records "missing required key" when absent.
  void require(const std::string& key);
  // A nested mapping; an empty map if absent (or not a mapping, which is recorded).
  ConfigMap section(const std::string& key);
  // The raw node of `key` (marked as read), for values the caller interprets itself.
  YAML::Node raw(const std::string& key);
  // Records each key that was never read as unknown.
  void finish();

  std::string path_of(const std::string& key) const;
  ConfigErrors& errors() { return *errors_; }

 private:
  template <typename T>
  void read_scalar(const std::string& key, T& out, const char* expected, const Check<T>& check);

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  std::set<std::string> read_;
};

// Applies "a.b.c=value" overrides to `root` in order; the value is parsed as YAML ("1e-3", "[a, b]",
// "null"). Malformed overrides are recorded in `errors` under the key they name.
void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides, ConfigErrors& errors);

}  // namespace lmc::train

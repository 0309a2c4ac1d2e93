// lmc::Error: the one exception type the libraries throw. Context is prepended as the error rises
// ("loading model X: reading config.json: field 'hidden_size' missing"), so the CLI can print a single
// line that says where and what. Nothing in a library prints or exits.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace lmc {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Runs `body`; an lmc::Error or std::exception escaping it is rethrown as lmc::Error prefixed with
// `context: `. Used at library boundaries so messages name the file or field being handled.
template <typename Body>
auto with_context(const std::string& context, Body&& body) -> decltype(body()) {
  try {
    return std::forward<Body>(body)();
  } catch (const std::exception& e) {
    throw Error(context + ": " + e.what());
  }
}

}  // namespace lmc

// The pre-tokenizer of byte-level BPE: splits valid UTF-8 text into pieces with a Unicode regex through
// PCRE2 (JIT-compiled). The pieces tile the text: every non-empty match plus the gaps between matches,
// as Hugging Face's Split(behavior="Isolated") does, so no byte is ever dropped. Patterns are written
// in the Rust/Oniguruma dialect tiktoken and tokenizer.json use; `\s`/`\S` are rewritten to the Unicode
// White_Space set those engines use (PCRE2's own `\s` also takes U+180E). Invalid UTF-8 is the
// caller's business: it must never reach split().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;
struct pcre2_real_jit_stack_8;

namespace lmc {

class RegexSplitter {
 public:
  // An empty pattern splits nothing (the whole text is one piece). Throws lmc::Error on a bad pattern.
  explicit RegexSplitter(const std::string& pattern);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Per-thread match state: PCRE2 match data, and a larger JIT stack once a match needs one.
  class Matcher {
   public:
    explicit Matcher(const RegexSplitter& splitter);
    ~Matcher();
    Matcher(const Matcher&) = delete;
    Matcher& operator=(const Matcher&) = delete;

   private:
    friend class RegexSplitter;
    pcre2_real_match_data_8* data_ = nullptr;
    pcre2_real_match_context_8* context_ = nullptr;
    pcre2_real_jit_stack_8* stack_ = nullptr;
  };

  // Calls on_piece(begin, end) for consecutive non-empty pieces that tile `text` (valid UTF-8).
  template <typename OnPiece>
  void split(std::string_view text, Matcher& matcher, OnPiece&& on_piece) const {
    size_t pos = 0;
    size_t begin = 0;
    size_t end = 0;
    while (pos < text.size() && find(text, pos, matcher, &begin, &end)) {
      if (begin > pos) on_piece(pos, begin);
      on_piece(begin, end);
      pos = end;
    }
    if (pos < text.size()) on_piece(pos, text.size());
  }

  const std::string& pattern() const { return pattern_; }

 private:
  // The first non-empty match at or after `start`; false when there is none.
  bool find(std::string_view text, size_t start, Matcher& matcher, size_t* begin, size_t* end) const;

  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace lmc

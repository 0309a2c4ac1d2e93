#include "infer/tokenizers/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/error.h"

namespace lmc {
namespace {

// Unicode's White_Space property, which `\s` means in Rust's regex crate (tiktoken) and Oniguruma
// (tokenizers). As members of a character class.
constexpr const char* kWhiteSpaceMembers =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Rewrites `\s` and `\S` (outside and inside character classes) into explicit White_Space classes.
std::string with_white_space_classes(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += in_class ? std::string(kWhiteSpaceMembers) : std::string("[") + kWhiteSpaceMembers + "]";
      } else if (next == 'S') {
        if (in_class) throw Error("\\S inside a character class is not supported (offset " + std::to_string(i) + ")");
        out += std::string("[^") + kWhiteSpaceMembers + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

RegexSplitter::RegexSplitter(const std::string& pattern) : pattern_(pattern) {
  if (pattern.empty()) return;
  const std::string translated =
      with_context("pre-tokenizer pattern", [&] { return with_white_space_classes(pattern); });
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(), PCRE2_UTF | PCRE2_UCP,
                        &error, &offset, nullptr);
  if (!code_) {
    throw Error("pre-tokenizer pattern does not compile (" + pcre2_message(error) + " at offset " +
                std::to_string(offset) + " of the rewritten pattern '" + translated + "')");
  }
  // Without JIT (a platform PCRE2 lacks it for) the interpreter gives the same matches, only slower.
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() { pcre2_code_free(code_); }

RegexSplitter::Matcher::Matcher(const RegexSplitter& splitter) {
  if (!splitter.code_) return;
  data_ = pcre2_match_data_create_from_pattern(splitter.code_, nullptr);
  context_ = pcre2_match_context_create(nullptr);
  if (!data_ || !context_) throw Error("out of memory creating PCRE2 match data");
}

RegexSplitter::Matcher::~Matcher() {
  pcre2_jit_stack_free(stack_);
  pcre2_match_context_free(context_);
  pcre2_match_data_free(data_);
}

bool RegexSplitter::find(std::string_view text, size_t start, Matcher& matcher, size_t* begin,
                         size_t* end) const {
  if (!code_) {
    *begin = start;
    *end = text.size();
    return start < text.size();
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  for (;;) {
    // The caller passes valid UTF-8 only, so PCRE2's own O(n) check per call is skipped.
    const int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), start, PCRE2_NOTEMPTY, matcher.data_,
                                          matcher.context_)
                        : pcre2_match(code_, subject, text.size(), start, PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK,
                                      matcher.data_, matcher.context_);
    if (rc > 0) {
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(matcher.data_);
      *begin = ovector[0];
      *end = ovector[1];
      return true;
    }
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !matcher.stack_) {
      // Long runs (whitespace, repeated punctuation) can outgrow the default 32 KiB JIT stack.
      matcher.stack_ = pcre2_jit_stack_create(64 * 1024, 256 * 1024 * 1024, nullptr);
      if (!matcher.stack_) throw Error("out of memory creating a PCRE2 JIT stack");
      pcre2_jit_stack_assign(matcher.context_, nullptr, matcher.stack_);
      continue;
    }
    throw Error("pre-tokenizer regex failed at byte " + std::to_string(start) + ": " + pcre2_message(rc));
  }
}

}  // namespace lmc

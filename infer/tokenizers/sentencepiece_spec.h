// The few settings of a serialized SentencePiece ModelProto that lmc's wrapper needs and the library's
// public headers do not expose (they hide the protobuf): model type, normaliser and whitespace options.
// A minimal protobuf wire-format reader; every other field is skipped. Field numbers and proto2
// defaults are those of sentencepiece_model.proto.
#pragma once

#include <cstddef>
#include <string_view>

namespace lmc {

struct SentencePieceSpec {
  int model_type = 1;                  // TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char
  bool treat_whitespace_as_suffix = false;
  size_t precompiled_charsmap_bytes = 0;  // NormalizerSpec: 0 for the identity normaliser
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Throws lmc::Error when `serialized` is not well-formed protobuf.
SentencePieceSpec read_sentencepiece_spec(std::string_view serialized);

}  // namespace lmc

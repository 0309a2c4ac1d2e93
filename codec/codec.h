// lmc's compressor: the LMCompress pipeline. Input is cut into chunks (2048 bytes by default), each
// tokenized and coded on its own from BOS; B chunks run through the model in lockstep as a group, and
// each token is arithmetic-coded under the model's quantised distribution. compress() streams its archive
// group by group (bounded memory for text and bytes); archives carry a checksum of the original and record
// everything decoding must match (model fingerprint, dtype, batch, threads, chunk size), refusing a
// mismatch. compress_smallest() weighs that archive against xz's and flac's.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "codec/container.h"
#include "data/wav.h"
#include "infer/llama.h"
#include "infer/tokenizers/tokenizer.h"

namespace lmc {

enum class CompressMode { kAuto, kText, kBytes, kAudio };
CompressMode parse_compress_mode(const std::string& name);  // auto|text|bytes|audio
// Throws lmc::Error saying why unless the file is PCM WAV with samples, as CompressMode::kAudio needs.
void require_pcm_wav(const data::ReadAt& file, uint64_t size);
std::string archive_mode_name(ArchiveMode mode);

// The model side of the codec: what predicts, how bytes become tokens, and the identity of both.
struct CodecModel {
  LlamaForCausalLM model{nullptr};
  const Tokenizer* tokenizer = nullptr;
  uint64_t fingerprint = 0;  // model_fingerprint(model, *tokenizer)
};

inline constexpr int64_t kDefaultChunkBytes = 2048;  // as in the papers

struct CompressOptions {
  CompressMode mode = CompressMode::kAuto;
  // 0: kDefaultChunkBytes, or for PCM audio that the PCM model codes, the whole frames that fit in it
  // (24-bit mono: 2046). A size given that splits frames has the audio's low bits coded apart.
  int64_t chunk_bytes = 0;
  int64_t batch = 0;           // chunks coded in lockstep; 0: auto_batch's choice
  int total_bits = 28;         // frequency total 2^28: the floor of 1 per symbol costs < 0.001 bit/token at 128k
  // Store a chunk coding would not shrink, or one whose group is smaller with it stored and packed
  // with xz (codec/set_aside.h); false: code every chunk.
  bool store_incompressible = true;
  // codec/match_model.h: predict tokens that repeat earlier ones. Unset: on for text and bytes, off for
  // audio, where audio-as-string seldom repeats and the match model's guesses cost more than they gain
  // (0.3% on LibriSpeech test-other).
  std::optional<bool> match_model;
};

struct CodecStats {
  ArchiveMode mode = ArchiveMode::kText;
  uint64_t bytes_in = 0;     // original bytes (decompress: restored)
  uint64_t bytes_out = 0;    // archive bytes (decompress: read)
  uint64_t chunks = 0;
  int64_t batch = 0;         // chunks per group, as the archive records it
  uint64_t stored_chunks = 0;  // chunks stored instead of coded (codec/set_aside.h)
  uint64_t bypassed_chunks = 0;  // of those, the ones the model never ran on (bypasses_model)
  uint64_t bypassed_bytes = 0;   // their bytes
  uint64_t tokens = 0;
  double model_bits = 0;     // the model's cross-entropy of the tokens it ran on (encoder only)
  double side_bits = 0;      // bits spent outside the token streams (audio: header and low bits)
  double seconds = 0;
  // compress_smallest, when xz or flac won: the input the model had coded when its archive passed that
  // archive's size (all of it if it finished first; for a WAV, bytes of the samples' text, without the
  // header), and the model archive's size then.
  uint64_t model_bytes_in = 0;
  uint64_t model_bytes_out = 0;
};

// The batch lmc picks when none is given: as many streams as lmc's CPU kernels take in one call (64),
// fewer when the KV cache of a group at its worst (one token per byte of every chunk) would pass 2 GiB.
// Wider groups run faster (the weights are read once per step for all streams), so a small model gets
// 64, while LLaMA-3-8B in bf16 gets 7. Never less than 1.
int64_t auto_batch(const LlamaConfig& config, torch::ScalarType dtype, int64_t chunk_bytes);

// Called after each group with the original bytes handled so far.
using CodecProgress = std::function<void(uint64_t bytes_done)>;

// `size` is the input's length when known (a regular file): it is recorded and checked on decoding.
CodecStats compress(const CodecModel& codec, std::istream& in, std::optional<uint64_t> size, std::ostream& out,
                    const CompressOptions& options, const CodecProgress& progress = {});

// compress(), unless xz -9e or, for a PCM WAV, flac -8 makes a smaller archive (binaries, audio the model
// does not know): then an xz or flac archive (container.h), whose stats have mode kXz or kFlac. The model
// stops as soon as its archive passes that archive's size, so a file it cannot shrink costs it only the
// part that shows this. `in` must be seekable: xz and flac read it first. The archives are held in
// memory until one is written to `out`.
CodecStats compress_smallest(const CodecModel& codec, std::istream& in, std::optional<uint64_t> size,
                             std::ostream& out, const CompressOptions& options, const CodecProgress& progress = {});

// Throws lmc::Error on a corrupt or truncated archive, another model, dtype or format version, or a
// checksum mismatch. Sets the intra-op thread count to the archive's (logits may depend on it). An xz
// or flac archive decodes without the model: `codec` may then be empty.
CodecStats decompress(const CodecModel& codec, std::istream& in, std::ostream& out,
                      const CodecProgress& progress = {});

}  // namespace lmc

// compress() and decompress(): reading input group by group, choosing the mode, the audio transform,
// and checking on decoding that the archive belongs to this model. The coding itself is group_coder.
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <istream>
#include <memory>
#include <ostream>

#include "codec/chunk_tokens.h"
#include "codec/codec.h"
#include "codec/coder.h"
#include "codec/flac_archive.h"
#include "codec/group_coder.h"
#include "codec/set_aside.h"
#include "codec/xz_archive.h"
#include "common/error.h"
#include "data/audio_string.h"
#include "data/wav.h"
#include "infer/row_linear.h"
#include "infer/scoring.h"

namespace lmc {
namespace {

// Side blobs of an audio archive's first group. The low bits' blob starts with the bits' frame length,
// from format 6 on a channel count (that of 16-bit PCM when the bits are coded here, 0 for other sample
// widths; the audio's whatever its width when the PCM model codes them), from format 8 on a byte that is
// 1 when the bits are coded inside the chunks with the PCM model (codec/pcm_model.h) and 0 when the coded
// bits follow here.
enum AudioSide : size_t { kWavHead = 0, kWavTail = 1, kLowBits = 2, kAudioSideCount = 3 };

ModelDtype model_dtype(const LlamaForCausalLM& model) {
  switch (model->dtype()) {
    case torch::kFloat: return ModelDtype::kFloat32;
    case torch::kBFloat16: return ModelDtype::kBFloat16;
    case torch::kHalf: return ModelDtype::kFloat16;
    default: throw Error("the model's dtype cannot be recorded in an archive");
  }
}

std::string model_dtype_name(ModelDtype dtype) {
  switch (dtype) {
    case ModelDtype::kFloat32: return "fp32";
    case ModelDtype::kBFloat16: return "bf16";
    case ModelDtype::kFloat16: return "fp16";
  }
  return "unknown";
}

// Reads up to `n` bytes; fewer only at the end of the stream.
std::string read_up_to(std::istream& in, size_t n) {
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  if (in.bad()) throw Error("reading the input failed");
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

std::string read_rest(std::istream& in) {
  std::string all, block;
  while (!(block = read_up_to(in, 1 << 20)).empty()) all += block;
  return all;
}

struct AudioParts {
  std::string head, tail;
  std::string_view pcm;  // the samples' bytes, in the file being compressed
  data::AudioString text;
  uint32_t frame_bytes = 1;
  std::optional<PcmLayout> pcm_layout;  // 8-, 16- or 24-bit PCM whose frames fit the bit coder's period
  // The channels of 16-bit PCM, whose neighbouring samples the separate bit coder's contexts see; else 0.
  uint8_t pcm16_channels() const {
    return pcm_layout && pcm_layout->sample_bytes == 2 ? static_cast<uint8_t>(pcm_layout->channels) : 0;
  }
};

std::optional<AudioParts> split_wav(std::string_view file) {
  data::WavLayout layout;
  try {
    layout = data::parse_wav({reinterpret_cast<const uint8_t*>(file.data()), file.size()});
  } catch (const Error&) {
    return std::nullopt;  // not PCM WAV: coded as text instead
  }
  if (layout.data_size == 0) return std::nullopt;
  AudioParts parts;
  parts.head = std::string(file.substr(0, layout.data_offset));
  parts.tail = std::string(file.substr(layout.data_offset + layout.data_size));
  auto samples = file.substr(layout.data_offset, layout.data_size);
  parts.pcm = samples;
  parts.text = data::to_audio_string({reinterpret_cast<const uint8_t*>(samples.data()), samples.size()});
  parts.frame_bytes = std::min<uint32_t>(layout.format.bytes_per_frame(), kMaxContextPeriod);
  const PcmLayout pcm{static_cast<int>(layout.format.channels), static_cast<int>(layout.format.bits_per_sample / 8)};
  if (layout.format.bits_per_sample % 8 == 0 && pcm.valid() &&
      parts.frame_bytes == static_cast<uint32_t>(pcm.sample_bytes * pcm.channels)) {
    parts.pcm_layout = pcm;
  }
  return parts;
}

// Forwards to another stream's buffer and counts the bytes, so the archive size is known even on a pipe.
class CountingBuffer : public std::streambuf {
 public:
  explicit CountingBuffer(std::streambuf* target) : target_(target) {}
  uint64_t count() const { return count_; }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    ++count_;
    return target_->sputc(traits_type::to_char_type(c));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::streamsize written = target_->sputn(s, n);
    count_ += static_cast<uint64_t>(written);
    return written;
  }
  int sync() override { return target_->pubsync(); }

 private:
  std::streambuf* target_;
  uint64_t count_ = 0;
};

// Reads from another stream's buffer and counts what its reader has consumed, so decompress knows the
// archive's size even on a pipe.
class CountingSource : public std::streambuf {
 public:
  explicit CountingSource(std::streambuf* source) : source_(source) {}
  uint64_t consumed() const { return read_ - static_cast<uint64_t>(egptr() - gptr()); }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const std::streamsize n = source_->sgetn(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    if (n <= 0) return traits_type::eof();
    read_ += static_cast<uint64_t>(n);
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  std::streambuf* source_;
  std::array<char, 1 << 16> buffer_{};
  uint64_t read_ = 0;
};

std::vector<uint8_t> as_bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The PCM model mixes its symbol predictions into the model's token by token, so it needs one token for
// each audio-as-string symbol: a byte-level model's. The map covers the model's vocabulary, which may
// be padded past the tokenizer's.
std::optional<PcmSymbolTokens> pcm_symbol_tokens(const Tokenizer& tokenizer, int64_t model_vocab) {
  if (tokenizer.kind() != "bytes") return std::nullopt;
  PcmSymbolTokens map;
  map.symbol.assign(static_cast<size_t>(std::max<int64_t>(tokenizer.vocab_size(), model_vocab)), -1);
  for (int s = 0; s < 128; ++s) {
    auto ids = tokenizer.encode(std::string(1, static_cast<char>(s)));
    if (ids.size() != 1 || ids[0] < 0 || ids[0] >= tokenizer.vocab_size()) return std::nullopt;
    map.token[s] = ids[0];
    map.symbol[ids[0]] = static_cast<int16_t>(s);
  }
  return map;
}

// One per archive, shared by its groups in order; none when the archive is coded without it.
std::unique_ptr<MatchModel> match_model_if(bool on, uint8_t format_version = kArchiveFormatVersion) {
  return on ? std::make_unique<MatchModel>(MatchModel::kDefaultWindow, format_version >= 5) : nullptr;
}

// Codes one group of chunks and appends it to the archive. With `pcm` (PCM audio under a byte-level
// model: the chunks' PCM bytes, one per symbol, and the symbols' tokens) a chunk's bits are coded with
// it, and a stored chunk keeps its PCM bytes. Text and bytes chunks that bypasses_model() are stored
// without running the model on them.
ChunkGroup code_group(LockstepPredictor& predictor, MatchModel* matches, const ChunkTokenizer& tokenizer,
                      const std::vector<std::string_view>& chunks, const CompressOptions& options, CodecStats& stats,
                      PcmStreams* pcm = nullptr) {
  const size_t n = chunks.size();
  std::vector<std::vector<uint8_t>> contents;  // what a stored chunk holds
  for (size_t i = 0; i < n; ++i) contents.push_back(pcm ? pcm->pcm[i] : as_bytes(chunks[i]));
  const bool may_bypass = options.store_incompressible && tokenizer.mode() != ArchiveMode::kAudio;
  std::vector<size_t> modelled;  // the chunks the model codes, in order
  std::vector<std::vector<TokenId>> ids;
  for (size_t i = 0; i < n; ++i) {
    if (may_bypass && bypasses_model(contents[i])) continue;
    modelled.push_back(i);
    ids.push_back(tokenizer.encode(chunks[i]));
  }
  const auto coded = encode_group(predictor, ids, options.total_bits, matches, pcm);
  // Incompressible under this model (random bytes, a domain it never saw): stored, so the archive never
  // grows by more than its header and tables, and packed with xz where that pays. A bypassed chunk has
  // no code: it is always stored.
  std::vector<uint64_t> coded_sizes(n, UINT64_MAX);
  for (size_t k = 0; k < modelled.size(); ++k) coded_sizes[modelled[k]] = coded[k].payload.size();
  const std::vector<bool> stored =
      options.store_incompressible ? chunks_to_store(contents, coded_sizes) : std::vector<bool>(n);
  ChunkGroup group;
  for (size_t i = 0, k = 0; i < n; ++i) {
    const bool in_model = k < modelled.size() && modelled[k] == i;
    if (stored[i]) {
      group.add_chunk(chunks[i].size(), 0, contents[i]);
      ++stats.stored_chunks;
      if (!in_model) {
        ++stats.bypassed_chunks;
        stats.bypassed_bytes += chunks[i].size();
      }
    } else {
      if (!in_model) throw Error("a chunk that bypassed the model was not stored");
      group.add_chunk(chunks[i].size(), ids[k].size(), coded[k].payload);
    }
    if (in_model) {
      stats.tokens += ids[k].size();
      stats.model_bits += coded[k].model_bits;
      ++k;
    }
  }
  stats.chunks += n;
  return group;
}

}  // namespace

void require_pcm_wav(const data::ReadAt& file, uint64_t size) {
  try {
    if (data::parse_wav(file, size).data_size > 0) return;
  } catch (const Error& e) {
    throw Error(std::string("--mode audio needs a PCM WAV file: ") + e.what());
  }
  throw Error("--mode audio needs a PCM WAV file with samples: this one has none");
}

CompressMode parse_compress_mode(const std::string& name) {
  if (name == "auto") return CompressMode::kAuto;
  if (name == "text") return CompressMode::kText;
  if (name == "bytes") return CompressMode::kBytes;
  if (name == "audio") return CompressMode::kAudio;
  throw Error("unknown mode '" + name + "' (expected auto, text, bytes or audio)");
}

std::string archive_mode_name(ArchiveMode mode) {
  switch (mode) {
    case ArchiveMode::kText: return "text";
    case ArchiveMode::kBytes: return "bytes";
    case ArchiveMode::kAudio: return "audio";
    case ArchiveMode::kXz: return "xz";
    case ArchiveMode::kFlac: return "flac";
  }
  return "unknown";
}

int64_t auto_batch(const LlamaConfig& config, torch::ScalarType dtype, int64_t chunk_bytes) {
  constexpr int64_t kCacheBudgetBytes = int64_t{2} << 30;
  const int64_t per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim *
                            static_cast<int64_t>(c10::elementSize(dtype));
  const int64_t per_stream = std::max<int64_t>(1, per_token * (chunk_bytes + 1));  // + the start token
  return std::clamp<int64_t>(kCacheBudgetBytes / per_stream, 1, kRowLinearMaxRows);
}

CodecStats compress(const CodecModel& codec, std::istream& in, std::optional<uint64_t> size, std::ostream& out,
                    const CompressOptions& requested, const CodecProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (requested.chunk_bytes < 0 || requested.batch < 0) throw Error("chunk size and batch must not be negative");
  CompressOptions options = requested;
  const bool default_chunks = options.chunk_bytes == 0;
  if (default_chunks) options.chunk_bytes = kDefaultChunkBytes;
  if (options.batch == 0) options.batch = auto_batch(codec.model->config(), codec.model->dtype(), options.chunk_bytes);
  CodecStats stats;
  ArchiveHeader header;
  header.model_fingerprint = codec.fingerprint;
  header.dtype = model_dtype(codec.model);
  header.chunk_bytes = static_cast<uint64_t>(options.chunk_bytes);
  header.batch_size = static_cast<uint64_t>(options.batch);
  header.threads = static_cast<uint64_t>(at::get_num_threads());
  header.total_bits = options.total_bits;

  // Audio needs the whole file (the WAV layout), everything else streams from a small prefix on.
  std::string pending = read_up_to(in, 12);
  std::optional<AudioParts> audio;
  ArchiveMode mode = options.mode == CompressMode::kBytes ? ArchiveMode::kBytes : ArchiveMode::kText;
  if (options.mode == CompressMode::kAudio || (options.mode == CompressMode::kAuto && data::looks_like_wav(pending))) {
    pending += read_rest(in);
    size = pending.size();
    audio = split_wav(pending);
    if (!audio && options.mode == CompressMode::kAudio) {
      require_pcm_wav(data::memory_read_at({reinterpret_cast<const uint8_t*>(pending.data()), pending.size()}),
                      pending.size());  // says why, and throws
    }
    mode = audio ? ArchiveMode::kAudio : ArchiveMode::kText;
  }
  // Integer PCM in whole frames, under a byte-level model: the PCM model codes the bits. Each chunk must
  // hold whole frames too: the default chunk size rounds down to them (24-bit mono: 2046 bytes).
  std::optional<PcmSymbolTokens> symbol_tokens;
  const auto chunk_bytes = static_cast<uint64_t>(options.chunk_bytes);
  if (audio && audio->pcm_layout && audio->text.ascii.size() % audio->frame_bytes == 0 &&
      (default_chunks || chunk_bytes % audio->frame_bytes == 0)) {
    symbol_tokens = pcm_symbol_tokens(*codec.tokenizer, codec.model->config().vocab_size);
    if (symbol_tokens) {
      options.chunk_bytes -= options.chunk_bytes % audio->frame_bytes;
      header.chunk_bytes = static_cast<uint64_t>(options.chunk_bytes);
    }
  }
  header.mode = mode;
  header.match_model = options.match_model.value_or(mode != ArchiveMode::kAudio);
  // The container checks original_size against the chunks, which in audio hold only the samples' text.
  header.original_size = audio ? std::nullopt : size;
  stats.mode = mode;
  stats.batch = options.batch;

  LockstepPredictor predictor(codec.model, start_token(codec.model->config(), *codec.tokenizer));
  const std::unique_ptr<MatchModel> match_model = match_model_if(header.match_model);
  MatchModel* const matches = match_model.get();
  ChunkTokenizer tokenizer(*codec.tokenizer, mode);
  CountingBuffer counter(out.rdbuf());
  std::ostream counted(&counter);
  ArchiveWriter writer(counted, header);
  ContentChecksum checksum;
  const size_t group_bytes = static_cast<size_t>(options.chunk_bytes * options.batch);

  if (audio) {
    checksum.update(pending);
    std::string_view text = audio->text.ascii;
    for (size_t begin = 0; begin < text.size(); begin += group_bytes) {
      auto chunks = split_chunks(text.substr(begin, group_bytes), options.chunk_bytes);
      std::optional<PcmStreams> pcm;
      if (symbol_tokens) {
        pcm.emplace(PcmStreams{.tokens = &*symbol_tokens, .layout = *audio->pcm_layout, .pcm = {}});
        for (size_t i = 0, at = begin; i < chunks.size(); at += chunks[i].size(), ++i) {
          pcm->pcm.push_back(as_bytes(audio->pcm.substr(at, chunks[i].size())));
        }
      }
      ChunkGroup group = code_group(predictor, matches, tokenizer, chunks, options, stats, pcm ? &*pcm : nullptr);
      if (begin == 0) {
        const uint8_t channels = symbol_tokens ? static_cast<uint8_t>(audio->pcm_layout->channels) : audio->pcm16_channels();
        std::vector<uint8_t> low_bits{static_cast<uint8_t>(audio->frame_bytes), channels,
                                      static_cast<uint8_t>(symbol_tokens ? 1 : 0)};
        if (!symbol_tokens) {
          auto coded = encode_bits(audio->text.lsb_bits, static_cast<int>(audio->frame_bytes), audio->text.ascii,
                                   audio->pcm16_channels());
          low_bits.insert(low_bits.end(), coded.begin(), coded.end());
        }
        group.side = {as_bytes(audio->head), as_bytes(audio->tail), std::move(low_bits)};
        for (const auto& blob : group.side) stats.side_bits += 8.0 * blob.size();
      }
      writer.write_group(group);
      if (progress) progress(begin + std::min(group_bytes, text.size() - begin));
    }
    stats.bytes_in = pending.size();
  } else {
    size_t offset = 0;  // into pending: what is already coded
    for (;;) {
      if (pending.size() - offset < group_bytes) {
        pending.erase(0, offset);
        offset = 0;
        pending += read_up_to(in, group_bytes - pending.size());
      }
      if (pending.size() == offset) break;
      std::string_view block = std::string_view(pending).substr(offset, group_bytes);
      checksum.update(block);
      writer.write_group(
          code_group(predictor, matches, tokenizer, split_chunks(block, options.chunk_bytes), options, stats));
      stats.bytes_in += block.size();
      offset += block.size();
      if (progress) progress(stats.bytes_in);
    }
  }
  writer.finish(checksum.digest());
  counted.flush();
  if (!counted || !out) throw Error("writing the archive failed");
  stats.bytes_out = counter.count();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

CodecStats decompress(const CodecModel& codec, std::istream& archive, std::ostream& out, const CodecProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  CountingSource source(archive.rdbuf());
  std::istream in(&source);
  ArchiveReader reader(in);
  const ArchiveHeader& header = reader.header();
  CodecStats stats;
  stats.mode = header.mode;
  if (is_stream_archive(header.mode)) {
    stats.bytes_in = header.mode == ArchiveMode::kXz ? decode_xz_archive(reader, out) : decode_flac_archive(reader, out);
    if (progress) progress(stats.bytes_in);
    stats.bytes_out = source.consumed();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }
  if (!codec.model) throw Error("this archive needs the model it was made with, and none is loaded");
  // The dtype first: the fingerprint covers the weights' dtype too, and would hide the simpler fix.
  if (header.dtype != model_dtype(codec.model)) {
    throw Error("the archive was made with the model in " + model_dtype_name(header.dtype) + ", it is loaded in " +
                model_dtype_name(model_dtype(codec.model)) + " (use --dtype " + model_dtype_name(header.dtype) + ")");
  }
  if (header.model_fingerprint != codec.fingerprint) {
    throw Error("the archive was made with another model, adapter or tokenizer (fingerprint " +
                std::to_string(header.model_fingerprint) + ", this model " + std::to_string(codec.fingerprint) + ")");
  }
  at::set_num_threads(static_cast<int>(header.threads));
  stats.batch = static_cast<int64_t>(header.batch_size);
  LockstepPredictor predictor(codec.model, start_token(codec.model->config(), *codec.tokenizer));
  const std::unique_ptr<MatchModel> match_model = match_model_if(header.match_model, header.format_version);
  MatchModel* const matches = match_model.get();
  ChunkTokenizer tokenizer(*codec.tokenizer, header.mode);
  ContentChecksum checksum;
  // Audio: the WAV header and the low bits come with the first group; the chunks decode to the symbols
  // (the low bits coded apart) or, from format 8, with the PCM model to the samples themselves.
  const size_t low_head = header.format_version >= 8 ? 3 : header.format_version >= 6 ? 2 : 1;
  std::vector<std::vector<uint8_t>> audio_side;
  auto check_audio_side = [&] {
    if (audio_side.size() != kAudioSideCount || audio_side[kLowBits].size() < low_head) {
      throw Error("audio archive without its WAV header and low bits");
    }
  };
  std::optional<PcmSymbolTokens> symbol_tokens;
  PcmLayout pcm_layout;
  std::string audio_bytes;  // the symbols, or the samples when the PCM model coded them
  ChunkGroup group;
  bool first_group = true;
  while (reader.next_group(group)) {
    if (first_group && header.mode == ArchiveMode::kAudio) {
      audio_side = group.side;
      check_audio_side();
      const auto& low = audio_side[kLowBits];
      if (low_head == 3 && low[2] > 1) {
        throw Error("archive corrupt in the audio's low bits: unknown coding " + std::to_string(low[2]));
      }
      if (low_head == 3 && low[2] == 1) {
        if (low.size() != low_head) throw Error("archive corrupt in the audio's low bits: bits after the PCM model's");
        // The frame's bytes over its channels: 2 before format 10, which added 1 and 3.
        const int channels = low[1];
        pcm_layout = {channels, channels > 0 ? low[0] / channels : 0};
        symbol_tokens = pcm_symbol_tokens(*codec.tokenizer, codec.model->config().vocab_size);
        if (!pcm_layout.valid() || low[0] % channels != 0 ||
            (header.format_version < kPcmWidthsFormatVersion && pcm_layout.sample_bytes != 2) || !symbol_tokens) {
          throw Error("archive corrupt in the audio's low bits: no PCM to model");
        }
      }
    }
    first_group = false;
    const auto payloads = group.coded_chunks();
    auto stored_bytes = [&](size_t i) {
      return std::string_view(reinterpret_cast<const char*>(payloads[i].data()), payloads[i].size());
    };
    std::optional<PcmStreams> pcm;
    if (symbol_tokens) {
      pcm.emplace(PcmStreams{.tokens = &*symbol_tokens,
                             .layout = pcm_layout,
                             .cross_channel = header.format_version >= 9,
                             .wasted_bits = header.format_version >= kPcmWidthsFormatVersion,
                             .pcm = {}});
    }
    // The chunks that ran through the model, in order; from format 13 a stored text or bytes chunk that
    // bypasses_model() never did.
    const bool may_bypass = header.format_version >= kModelBypassFormatVersion && header.mode != ArchiveMode::kAudio;
    std::vector<size_t> modelled;
    std::vector<std::span<const uint8_t>> modelled_payloads;
    std::vector<int64_t> counts;
    std::vector<std::vector<TokenId>> known;
    for (size_t i = 0; i < group.chunks.size(); ++i) {
      const ChunkEntry& c = group.chunks[i];
      stats.stored_chunks += c.stored() ? 1 : 0;
      if (may_bypass && c.stored() && bypasses_model(payloads[i])) {
        ++stats.bypassed_chunks;
        stats.bypassed_bytes += c.original_bytes;
        continue;
      }
      modelled.push_back(i);
      modelled_payloads.push_back(payloads[i]);
      // A stored chunk runs in its group as the encoder ran it, on its own tokens.
      known.emplace_back();
      if (c.stored() && pcm) {
        for (uint8_t byte : payloads[i]) known.back().push_back(symbol_tokens->token[byte >> 1]);
      } else if (c.stored()) {
        known.back() = tokenizer.encode(stored_bytes(i));
      }
      if (pcm) pcm->pcm.push_back(c.stored() ? std::vector<uint8_t>(payloads[i].begin(), payloads[i].end())
                                             : std::vector<uint8_t>());
      counts.push_back(c.stored() ? static_cast<int64_t>(known.back().size()) : static_cast<int64_t>(c.tokens));
      with_context("archive corrupt", [&] { check_fits_context(codec.model->config(), counts.back(), false); });
    }
    auto modelled_ids =
        decode_group(predictor, modelled_payloads, counts, header.total_bits, matches, known, pcm ? &*pcm : nullptr);
    std::vector<std::vector<TokenId>> ids(group.chunks.size());
    for (size_t k = 0; k < modelled.size(); ++k) ids[modelled[k]] = std::move(modelled_ids[k]);
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string bytes;
      if (pcm) {
        bytes.assign(pcm->pcm[i].begin(), pcm->pcm[i].end());
        if (bytes.size() != group.chunks[i].original_bytes) {
          throw Error("an audio chunk decoded to the wrong length: corrupt archive");
        }
      } else {
        bytes = group.chunks[i].stored() ? std::string(stored_bytes(i))
                                         : tokenizer.decode(ids[i], group.chunks[i].original_bytes);
      }
      stats.tokens += ids[i].size();
      if (header.mode == ArchiveMode::kAudio) {
        audio_bytes += bytes;
      } else {
        checksum.update(bytes);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        stats.bytes_in += bytes.size();
      }
    }
    stats.chunks += group.chunks.size();
    if (progress) progress(stats.bytes_in + audio_bytes.size());
  }
  if (header.mode == ArchiveMode::kAudio) {
    check_audio_side();
    std::vector<uint8_t> samples;
    if (symbol_tokens) {
      samples = as_bytes(audio_bytes);
    } else {
      const auto& low = audio_side[kLowBits];
      const std::string_view symbols = header.format_version >= 4 ? std::string_view(audio_bytes) : std::string_view();
      const int pcm16_channels = low_head >= 2 ? low[1] : 0;
      const Pcm16Contexts pcm16_contexts =
          header.format_version >= 7 ? Pcm16Contexts::kMixedNeighbours : Pcm16Contexts::kNeighbours;
      auto bits = with_context("archive corrupt in the audio's low bits", [&] {
        return decode_bits({low.data() + low_head, low.size() - low_head}, audio_bytes.size(), low[0], symbols,
                           pcm16_channels, pcm16_contexts);
      });
      samples = data::from_audio_string(audio_bytes, bits);
    }
    for (const auto& part : {audio_side[kWavHead], samples, audio_side[kWavTail]}) {
      std::string_view view(reinterpret_cast<const char*>(part.data()), part.size());
      checksum.update(view);
      out.write(view.data(), static_cast<std::streamsize>(view.size()));
      stats.bytes_in += part.size();
    }
  }
  if (!out) throw Error("writing the output failed");
  if (checksum.digest() != reader.checksum()) throw Error("checksum mismatch: the archive is corrupt");
  stats.bytes_out = source.consumed();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace lmc

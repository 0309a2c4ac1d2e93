// The prepare pipeline. Splits are filled in order from one stream of documents: a split takes bytes until
// its size is reached, mid-document if need be, then the next split continues the same document (recorded
// in /doc_starts). The test split takes the rest.
#include "data/prepare.h"

#include <stdlib.h>

#include <cstring>

#include "common/error.h"
#include "data/audio_string.h"
#include "data/document_stream.h"
#include "infer/tokenizers/load.h"

namespace lmc::data {
namespace fs = std::filesystem;

namespace {

// A fresh OUT.tmp-XXXXXX next to OUT, removed with whatever is still in it when destroyed (nothing once
// publish() has renamed it to OUT).
class StagingDir {
 public:
  explicit StagingDir(const fs::path& out) {
    std::string pattern = out.string() + ".tmp-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
      throw Error("cannot create a staging directory next to " + out.string() + ": " + std::strerror(errno));
    }
    path_ = buffer.data();
  }
  ~StagingDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path normalized_out(const fs::path& out) {
  if (out.empty()) throw Error("no output directory given (--out)");
  fs::path normal = out.lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();
  std::error_code ec;
  if (fs::exists(normal, ec) && !fs::is_directory(normal, ec)) {
    throw Error("output " + normal.string() + " exists and is not a directory");
  }
  return normal;
}

// Moves the staged shards into `out`: one rename of the directory when `out` is new, else one rename per
// file. The previous run's shards are all removed first: a run killed between two renames then leaves
// a split missing, which its reader refuses (ShardReader, h5py), never a test split from one run beside
// a training split from another, which could share documents without anything noticing.
std::vector<fs::path> publish(const fs::path& staged, const fs::path& out) {
  std::vector<fs::path> files;
  for (const char* split : kSplitNames) files.push_back(out / (std::string(split) + ".h5"));
  std::error_code ec;
  if (!fs::exists(out, ec)) {
    fs::rename(staged, out, ec);
    if (ec) throw Error("cannot move " + staged.string() + " to " + out.string() + ": " + ec.message());
    return files;
  }
  for (const auto& file : files) {
    fs::remove(file, ec);
    if (ec) throw Error("cannot replace " + file.string() + ": " + ec.message());
  }
  for (const auto& file : files) {
    fs::rename(staged / file.filename(), file, ec);
    if (ec) throw Error("cannot move a shard into " + out.string() + ": " + ec.message());
  }
  return files;
}

class SplitFiller {
 public:
  SplitFiller(const fs::path& dir, const PrepareOptions& options, const SplitPlan& plan, const Tokenizer& tokenizer)
      : dir_(dir), options_(options), tokenizer_(tokenizer), room_{plan.train_bytes, plan.val_bytes, plan.test_bytes} {
    open(0);
  }

  void add_document(const std::string& name, const PcmFormat& format, std::span<const uint8_t> bytes,
                    std::span<const uint8_t> lsb_bits, bool first_block) {
    if (first_block) {
      while (split_ < 2 && room_[split_] == 0) advance();
      writer_->begin_document(name, 0, format);
      position_ = 0;
    }
    while (!bytes.empty()) {
      if (room_[split_] == 0 && split_ < 2) {
        writer_->end_document();
        advance();
        writer_->begin_document(name, position_, format);
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(bytes.size(), room_[split_]));
      if (split_ == 2) take = bytes.size();
      writer_->append(bytes.first(take), lsb_bits.empty() ? lsb_bits : lsb_bits.first(take));
      room_[split_] -= std::min<uint64_t>(take, room_[split_]);
      position_ += take;
      bytes = bytes.subspan(take);
      if (!lsb_bits.empty()) lsb_bits = lsb_bits.subspan(take);
    }
  }

  void end_document() { writer_->end_document(); }

  std::array<ShardStats, 3> finish() {
    while (split_ < 2) advance();
    stats_[split_] = writer_->finish();
    writer_.reset();
    return stats_;
  }

 private:
  void open(size_t split) {
    split_ = split;
    ShardHeader header{kSplitNames[split], options_.modality, options_.chunk_bytes, options_.seed};
    writer_ = std::make_unique<ShardWriter>(dir_ / (std::string(kSplitNames[split]) + ".h5"), header, tokenizer_);
  }

  void advance() {
    stats_[split_] = writer_->finish();
    open(split_ + 1);
  }

  fs::path dir_;
  const PrepareOptions& options_;
  const Tokenizer& tokenizer_;
  std::array<uint64_t, 3> room_;
  std::array<ShardStats, 3> stats_{};
  size_t split_ = 0;
  uint64_t position_ = 0;  // bytes of the current document written so far
  std::unique_ptr<ShardWriter> writer_;
};

}  // namespace

PrepareResult prepare(const PrepareOptions& options, const PrepareProgressFn& progress) {
  std::unique_ptr<Tokenizer> tokenizer = options.tokenizer.empty()
                                             ? make_byte_tokenizer()
                                             : with_context("loading tokenizer " + options.tokenizer.string(),
                                                            [&] { return load_tokenizer(options.tokenizer); });
  return prepare(options, *tokenizer, progress);
}

PrepareResult prepare(const PrepareOptions& options, const Tokenizer& tokenizer, const PrepareProgressFn& progress) {
  if (options.inputs.empty()) throw Error("no inputs given (--inputs)");
  if (options.chunk_bytes == 0) throw Error("chunk size must be at least 1 byte (--chunk-bytes)");
  fs::path out = normalized_out(options.out);

  ScanProgress on_scan;
  if (progress) on_scan = [&](uint64_t docs) { progress({PrepareProgress::Stage::Scanning, docs, 0}); };
  Corpus corpus = scan_corpus(options.inputs, ScanOptions{options.modality, options.jsonl_field}, on_scan);
  SplitPlan plan = plan_splits(corpus, options.train_size, options.val_size, options.seed);

  if (!out.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec) throw Error("cannot create " + out.parent_path().string() + ": " + ec.message());
  }
  StagingDir staging(out);
  PrepareResult result;
  result.corpus_bytes = corpus.total_bytes;
  result.skipped = corpus.skipped;

  SplitFiller filler(staging.path(), options, plan, tokenizer);
  uint64_t written = 0;
  AudioString audio;
  for (uint32_t index : plan.order) {
    const DocRef& doc = corpus.docs[index];
    std::string name = document_name(corpus, doc);
    bool first = true;
    auto feed = [&](std::span<const uint8_t> bytes, std::span<const uint8_t> bits) {
      filler.add_document(name, doc.format, bytes, bits, first);
      first = false;
      written += bytes.size();
      if (progress) progress({PrepareProgress::Stage::Writing, written, corpus.total_bytes});
    };
    stream_document(corpus, doc, [&](std::span<const uint8_t> block) {
      if (options.modality == Modality::Audio) {
        audio.ascii.clear();
        audio.lsb_bits.clear();
        append_audio_string(block, audio);
        feed(std::span(reinterpret_cast<const uint8_t*>(audio.ascii.data()), audio.ascii.size()), audio.lsb_bits);
      } else {
        feed(block, {});
      }
    });
    if (first) feed({}, {});  // an empty document still gets its (empty) entry
    filler.end_document();
  }
  result.splits = filler.finish();
  result.files = publish(staging.path(), out);
  return result;
}

}  // namespace lmc::data

// prepare() end to end on small generated corpora: h5py (tests/oracles/data_check_shards.py) rebuilds every
// document from the shards and checks splits, chunking and token ids; the C++ reader is checked against the
// tokenizer; every failure a user can cause leaves the output directory absent or unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "data/prepare.h"
#include "data/shard_reader.h"
#include "data_test_util.h"
#include "infer/tokenizers/load.h"
#include "pair_tokenizer.h"

namespace lmc::data {
namespace {

using lmc::testing::data_inputs;
using lmc::testing::error_of;

namespace fs = std::filesystem;
using lmc::testing::PairTokenizer;
using lmc::testing::TempDir;
using lmc::testing::write_file;

// make_text emits raw tabs, CR and LF, which a JSON string may not hold.
std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class DataPrepare : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path corpus = dir_ / "corpus";
    fs::create_directories(corpus / "books/.git");
    write_file(corpus / "books/one.txt", lmc::testing::make_text(5000, 1));  // larger than the val split
    write_file(corpus / "books/two.txt", lmc::testing::make_text(3001, 2));
    write_file(corpus / "books/empty.txt", "");
    write_file(corpus / "books/.git/config", "not a document");
    write_file(corpus / "notes.xml", "<notes><n>caf\xc3\xa9</n>\n<n>" + lmc::testing::make_text(700, 3) + "</n></notes>");
    std::string jsonl;
    for (int i = 0; i < 12; ++i) {
      jsonl += "{\"id\": " + std::to_string(i) + ", \"body\": \"" + json_escape(lmc::testing::make_text(50 + 37 * i, 10 + i)) +
               "\\n\\u00e9\\t\\\"q\\\"\"}\n";
    }
    write_file(corpus / "papers.jsonl", jsonl);
    fs::copy_file(data_inputs() / "tar/gnu.tar", corpus / "archive.tar");
    corpus_ = corpus.string();
  }

  PrepareOptions text_options(const fs::path& out) {
    PrepareOptions options;
    options.inputs = {corpus_};
    options.train_size = SplitSize::of_fraction(0.5);
    options.val_size = SplitSize::of_bytes(4000);
    options.chunk_bytes = 64;
    options.jsonl_field = "body";
    options.out = out;
    return options;
  }

  void expect_python_ok(const std::string& args) {
    auto result = lmc::testing::check_shards_with_python(args);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("OK"), std::string::npos) << result.out << result.err;
  }

  // The output directory's parent holds nothing but what was there before (no OUT, no OUT.tmp-*).
  void expect_nothing_written() {
    EXPECT_EQ(lmc::testing::listing(dir_.path()), (std::vector<std::string>{"corpus"}));
  }

  TempDir dir_;
  std::string corpus_;
  PairTokenizer tokenizer_;
};

TEST_F(DataPrepare, TextShardsRebuildEveryDocumentInInputOrder) {
  fs::path out = dir_ / "out";
  PrepareResult result = prepare(text_options(out), tokenizer_);
  EXPECT_EQ(result.splits[0].bytes, result.corpus_bytes / 2);
  EXPECT_EQ(result.splits[1].bytes, 4000u);
  EXPECT_EQ(result.splits[0].bytes + result.splits[1].bytes + result.splits[2].bytes, result.corpus_bytes);
  EXPECT_EQ(lmc::testing::listing(out), (std::vector<std::string>{"test.h5", "train.h5", "val.h5"}));
  EXPECT_EQ(lmc::testing::listing(dir_.path()), (std::vector<std::string>{"corpus", "out"}));
  expect_python_ok("--out " + out.string() + " --modality text --inputs " + corpus_ +
                   " --chunk-bytes 64 --train-bytes 0.5 --val-bytes 4000 --jsonl-field body --tokenizer pairs"
                   " --input-order");
}

TEST_F(DataPrepare, SeedShufflesReproducibly) {
  auto options = text_options(dir_ / "a");
  options.seed = 42;
  prepare(options, tokenizer_);
  options.out = dir_ / "b";
  prepare(options, tokenizer_);
  options.seed.reset();
  options.out = dir_ / "c";
  prepare(options, tokenizer_);
  expect_python_ok("--out " + (dir_ / "a").string() + " --modality text --inputs " + corpus_ +
                   " --chunk-bytes 64 --train-bytes 0.5 --val-bytes 4000 --jsonl-field body --tokenizer pairs");
  auto names = [&](const std::string& out) {
    std::vector<std::string> all;
    for (const char* split : kSplitNames) {
      ShardReader reader(dir_ / out / (std::string(split) + ".h5"));
      for (int64_t d = 0; d < reader.info().documents; ++d) all.push_back(reader.document_name(d));
    }
    return all;
  };
  EXPECT_EQ(names("a"), names("b"));
  EXPECT_NE(names("a"), names("c"));
  ShardReader a(dir_ / "a/train.h5"), b(dir_ / "b/train.h5");
  ASSERT_EQ(a.info().chunks, b.info().chunks);
  for (int64_t c = 0; c < a.info().chunks; ++c) ASSERT_EQ(a.chunk_bytes(c), b.chunk_bytes(c));
}

TEST_F(DataPrepare, ReaderServesChunksTokensAndWindows) {
  fs::path out = dir_ / "out";
  prepare(text_options(out), tokenizer_);
  ShardReader reader(out / "train.h5");
  const ShardInfo& info = reader.info();
  EXPECT_EQ(info.split, "train");
  EXPECT_EQ(info.modality, "text");
  EXPECT_EQ(info.tokenizer_kind, "test-pairs");
  EXPECT_EQ(info.tokenizer_fingerprint, tokenizer_.fingerprint());
  EXPECT_EQ(info.chunk_bytes, 64);
  std::vector<TokenId> stream;
  int64_t bytes = 0;
  for (int64_t c = 0; c < info.chunks; ++c) {
    std::string chunk = reader.chunk_bytes(c);
    ASSERT_LE(chunk.size(), 64u);
    ASSERT_EQ(reader.chunk_size(c), static_cast<int64_t>(chunk.size())) << "chunk " << c;
    auto ids = reader.chunk_tokens(c);
    ASSERT_EQ(ids, tokenizer_.encode(chunk)) << "chunk " << c;
    stream.insert(stream.end(), ids.begin(), ids.end());
    bytes += static_cast<int64_t>(chunk.size());
  }
  EXPECT_EQ(bytes, info.bytes);
  EXPECT_EQ(static_cast<int64_t>(stream.size()), info.tokens);
  const int64_t length = 50;
  ASSERT_EQ(reader.num_windows(length), info.tokens / length);
  for (int64_t w = 0; w < reader.num_windows(length); ++w) {
    auto window = reader.window(w, length);
    ASSERT_TRUE(std::equal(window.begin(), window.end(), stream.begin() + w * length)) << "window " << w;
  }
  EXPECT_EQ(reader.document_name(reader.chunk_document(0)), corpus_ + "/archive.tar:docs/a.txt");
  EXPECT_EQ(reader.document_name(reader.chunk_document(info.chunks - 1)), corpus_ + "/books/two.txt");
  EXPECT_THROW(reader.chunk_bytes(info.chunks), Error);
  EXPECT_THROW(reader.chunk_size(info.chunks), Error);
  EXPECT_THROW(reader.window(reader.num_windows(length), length), Error);
  EXPECT_THROW(reader.chunk_lsb_bits(0), Error);
}

TEST_F(DataPrepare, AudioShardsRebuildWavAndFlacPcm) {
  fs::path out = dir_ / "audio";
  PrepareOptions options;
  options.inputs = {(data_inputs() / "wav/pcm*.wav").string(), (data_inputs() / "flac/pcm*.flac").string()};
  options.modality = Modality::Audio;
  options.train_size = SplitSize::of_fraction(0.6);
  options.val_size = SplitSize::of_fraction(0.2);
  options.chunk_bytes = 1000;
  options.seed = 1;
  options.out = out;
  PrepareResult result = prepare(options, tokenizer_);
  // 8 WAVs and 6 FLACs; a document cut at a split boundary counts once in each split.
  EXPECT_GE(result.splits[0].documents + result.splits[1].documents + result.splits[2].documents, 14u);
  expect_python_ok("--out " + out.string() + " --modality audio --inputs '" + options.inputs[0] + "' '" +
                   options.inputs[1] + "' --chunk-bytes 1000 --train-bytes 0.6 --val-bytes 0.2 --tokenizer pairs");
  ShardReader reader(out / "val.h5");
  for (int64_t c = 0; c < reader.info().chunks; ++c) {
    std::string ascii = reader.chunk_bytes(c);
    auto bits = reader.chunk_lsb_bits(c);
    ASSERT_EQ(bits.size(), ascii.size());
    ASSERT_EQ(reader.chunk_tokens(c), tokenizer_.encode(ascii));
  }
}

TEST_F(DataPrepare, LibriSpeechFlacsRebuildAgainstFlacTool) {
  auto shared = lmc::testing::shared_data();
  if (!shared || !fs::is_directory(*shared / "audio/librispeech_test")) {
    GTEST_SKIP() << "no shared data (LMC_SHARED_DATA/audio/librispeech_test): LibriSpeech prepare skipped";
  }
  std::string glob = (*shared / "audio/librispeech_test/1688-*.flac").string();
  PrepareOptions options;
  options.inputs = {glob};
  options.modality = Modality::Audio;
  options.train_size = SplitSize::of_fraction(0.8);
  options.val_size = SplitSize::of_fraction(0.1);
  options.out = dir_ / "libri";
  prepare(options, tokenizer_);
  ShardReader reader(dir_ / "libri/train.h5");
  EXPECT_EQ(reader.info().modality, "audio");
  expect_python_ok("--out " + (dir_ / "libri").string() + " --modality audio --inputs '" + glob +
                   "' --chunk-bytes 2048 --train-bytes 0.8 --val-bytes 0.1 --tokenizer none");
}

TEST_F(DataPrepare, Llama3TokensMatchTiktoken) {
  auto shared = lmc::testing::shared_data();
  fs::path model = shared ? *shared / "models/llama3_tiktoken/tokenizer.model" : fs::path();
  if (!shared || !fs::exists(model)) {
    GTEST_SKIP() << "no shared data (LMC_SHARED_DATA/models/llama3_tiktoken): Llama 3 tokenizer check skipped";
  }
  // ASCII only: chunk cuts then never split a UTF-8 character, so tiktoken's str API can encode every chunk.
  fs::path corpus = dir_ / "ascii";
  fs::create_directories(corpus);
  for (int i = 0; i < 3; ++i) {
    std::string text = lmc::testing::make_text(4000 + 1000 * i, 20 + i);
    std::erase_if(text, [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    write_file(corpus / ("doc" + std::to_string(i) + ".txt"), text + " Don't we'll 12345 !!\r\n");
  }
  PrepareOptions options;
  options.inputs = {corpus.string()};
  options.tokenizer = model;
  options.train_size = SplitSize::of_fraction(0.5);
  options.val_size = SplitSize::of_fraction(0.25);
  options.chunk_bytes = 512;
  options.out = dir_ / "llama3";
  prepare(options);
  EXPECT_EQ(ShardReader(dir_ / "llama3/train.h5").info().tokenizer_kind, load_tokenizer(model)->kind());
  expect_python_ok("--out " + (dir_ / "llama3").string() + " --modality text --inputs " + corpus.string() +
                   " --chunk-bytes 512 --train-bytes 0.5 --val-bytes 0.25 --tokenizer tiktoken:" + model.string());
}

TEST_F(DataPrepare, BadInputsLeaveNothingBehind) {
  auto audio = [&](std::vector<std::string> in) {
    PrepareOptions options;
    options.inputs = std::move(in);
    options.modality = Modality::Audio;
    options.train_size = SplitSize::of_fraction(0.5);
    options.val_size = SplitSize::of_fraction(0.1);
    options.out = dir_ / "out";
    return error_of([&] { prepare(options, tokenizer_); });
  };
  // Corrupt FLAC: found while writing, after the staging directory exists.
  std::string corrupt = audio({(data_inputs() / "wav/pcm16_mono.wav").string(), (data_inputs() / "flac/corrupt.flac").string()});
  EXPECT_NE(corrupt.find("corrupt.flac: FLAC: corrupt FLAC stream"), std::string::npos) << corrupt;
  expect_nothing_written();
  std::string truncated = audio({(data_inputs() / "flac/truncated.flac").string()});
  EXPECT_NE(truncated.find("truncated.flac: FLAC:"), std::string::npos) << truncated;
  expect_nothing_written();
  std::string non_pcm = audio({(data_inputs() / "wav/pcm8_mono.wav").string(), (data_inputs() / "wav/adpcm.wav").string()});
  EXPECT_NE(non_pcm.find("adpcm.wav: WAV: codec Microsoft ADPCM is not integer PCM"), std::string::npos) << non_pcm;
  expect_nothing_written();

  auto options = text_options(dir_ / "out");
  options.inputs = {corpus_, (dir_ / "corpus/missing.txt").string()};
  std::string missing = error_of([&] { prepare(options, tokenizer_); });
  EXPECT_NE(missing.find("cannot read " + (dir_ / "corpus/missing.txt").string()), std::string::npos) << missing;
  expect_nothing_written();
  if (::geteuid() != 0) {  // root reads anything, so only an unprivileged run can test permissions
    write_file(dir_ / "corpus/locked.txt", "x");
    fs::permissions(dir_ / "corpus/locked.txt", fs::perms::none);
    options.inputs = {(dir_ / "corpus/locked.txt").string()};
    EXPECT_NE(error_of([&] { prepare(options, tokenizer_); }).find("Permission denied"), std::string::npos);
    fs::remove(dir_ / "corpus/locked.txt");
  }

  fs::create_directories(dir_ / "corpus/empty");
  write_file(dir_ / "corpus/empty/nothing.txt", "");
  options.inputs = {(dir_ / "corpus/empty").string()};
  EXPECT_NE(error_of([&] { prepare(options, tokenizer_); }).find("empty corpus: the inputs hold only empty documents"),
            std::string::npos);
  fs::remove(dir_ / "corpus/empty/nothing.txt");
  fs::copy_file(data_inputs() / "wav/pcm8_mono.wav", dir_ / "corpus/empty/sound.wav");
  std::string only_audio = error_of([&] { prepare(options, tokenizer_); });
  EXPECT_NE(only_audio.find("empty corpus: the inputs hold no documents (1 files of the other modality skipped"),
            std::string::npos)
      << only_audio;
  fs::remove_all(dir_ / "corpus/empty");

  options.inputs = {corpus_};
  options.train_size = SplitSize::of_bytes(uint64_t{64} << 20);
  options.val_size = SplitSize::of_bytes(uint64_t{16} << 20);
  std::string fit = error_of([&] { prepare(options, tokenizer_); });
  EXPECT_NE(fit.find("split sizes do not fit: train 64.0 MiB (67108864 bytes) + validation 16.0 MiB"),
            std::string::npos)
      << fit;
  expect_nothing_written();
}

TEST_F(DataPrepare, RerunReplacesShardsAndFailureKeepsThem) {
  fs::path out = dir_ / "out";
  prepare(text_options(out), tokenizer_);
  std::string before = lmc::testing::read_file(out / "train.h5");
  write_file(out / "README", "mine");

  auto options = text_options(out);
  options.inputs.push_back((data_inputs() / "wav/pcm8_mono.wav").string());  // explicit audio in a text run: error
  EXPECT_NE(error_of([&] { prepare(options, tokenizer_); }).find("is audio"), std::string::npos);
  options = text_options(out);
  options.inputs.push_back((dir_ / "gone.txt").string());
  EXPECT_THROW(prepare(options, tokenizer_), Error);
  EXPECT_EQ(lmc::testing::read_file(out / "train.h5"), before);
  EXPECT_EQ(lmc::testing::listing(dir_.path()), (std::vector<std::string>{"corpus", "out"}));

  options = text_options(out);
  options.chunk_bytes = 100;
  prepare(options, tokenizer_);
  for (const char* split : {"train.h5", "val.h5", "test.h5"}) EXPECT_EQ(ShardReader(out / split).info().chunk_bytes, 100);
  EXPECT_EQ(lmc::testing::listing(out), (std::vector<std::string>{"README", "test.h5", "train.h5", "val.h5"}));
  EXPECT_EQ(lmc::testing::listing(dir_.path()), (std::vector<std::string>{"corpus", "out"}));

  // A failure found only while writing (a corrupt FLAC after a good WAV) keeps the previous shards too.
  fs::path sound = dir_ / "sound";
  PrepareOptions audio;
  audio.inputs = {(data_inputs() / "wav/pcm16_stereo.wav").string()};
  audio.modality = Modality::Audio;
  audio.train_size = SplitSize::of_fraction(0.5);
  audio.val_size = SplitSize::of_fraction(0.25);
  audio.out = sound;
  prepare(audio, tokenizer_);
  std::string sound_before = lmc::testing::read_file(sound / "train.h5");
  audio.inputs.push_back((data_inputs() / "flac/corrupt.flac").string());
  EXPECT_NE(error_of([&] { prepare(audio, tokenizer_); }).find("corrupt FLAC stream"), std::string::npos);
  EXPECT_EQ(lmc::testing::read_file(sound / "train.h5"), sound_before);
  EXPECT_EQ(lmc::testing::listing(dir_.path()), (std::vector<std::string>{"corpus", "out", "sound"}));
}

TEST_F(DataPrepare, OutputThatIsAFileIsRefused) {
  write_file(dir_ / "taken", "x");
  std::string message = error_of([&] { prepare(text_options(dir_ / "taken"), tokenizer_); });
  EXPECT_NE(message.find("exists and is not a directory"), std::string::npos) << message;
  EXPECT_EQ(lmc::testing::read_file(dir_ / "taken"), "x");
}

}  // namespace
}  // namespace lmc::data

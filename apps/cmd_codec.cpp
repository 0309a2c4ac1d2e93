// `lmc compress` and `lmc decompress`, shaped like gzip: IN becomes IN.lmc and back, `-` is stdin or
// stdout, existing files are never overwritten without -f, output appears atomically (temp file, then
// rename) and the input is removed only after that, unless -k. Parsing and printing only: the
// codec library does the work.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/file_streams.h"
#include "apps/model_options.h"
#include "codec/baselines.h"
#include "codec/codec.h"
#include "codec/container.h"
#include "common/error.h"
#include "data/file_region.h"
#include "data/wav.h"
#include "infer/fingerprint.h"

namespace lmc::apps {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSuffix = ".lmc";
constexpr const char* kAudioModel = "audio";  // under models/

struct CodecCommandOptions {
  ModelOptions model;
  std::string input;
  std::string output;
  std::string mode = "auto";
  int64_t chunk_bytes = 0;  // CompressOptions': the default, fitted to PCM frames
  std::string batch = "auto";
  bool keep = false;
  bool force = false;
  bool verify = false;
  bool no_store = false;
  bool model_only = false;
  bool match = false;
  bool no_match = false;
  bool as_json = false;
};

// A one-line progress report on stderr, redrawn in place, only when stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine(const char* verb, std::optional<uint64_t> total)
      : verb_(verb), total_(total), enabled_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}
  ~ProgressLine() {
    if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
  }
  void operator()(uint64_t done) {
    if (!enabled_) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? done / 1000.0 / seconds : 0.0;
    if (total_ && *total_ > 0) {
      const double fraction = double(done) / double(*total_);
      const int width = 30, filled = static_cast<int>(fraction * width);
      std::fprintf(stderr, "\r%s [%s%s] %5.1f%%  %.1f KB/s  ETA %.0f s", verb_, std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), 100 * fraction, rate,
                   rate > 0 ? (*total_ - done) / 1000.0 / rate : 0.0);
    } else {
      std::fprintf(stderr, "\r%s %.1f KB  %.1f KB/s", verb_, done / 1000.0, rate);
    }
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  const char* verb_;
  std::optional<uint64_t> total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

struct OpenedModel {
  LoadedModel loaded;
  CodecModel codec;
};

// The fingerprint as archives of `format_version` record it (a compressor writes the current format).
OpenedModel open_model(const ModelOptions& options, uint8_t format_version = kArchiveFormatVersion) {
  OpenedModel opened{load_model(options), {}};
  opened.codec.model = opened.loaded.model;
  opened.codec.tokenizer = opened.loaded.tokenizer.get();
  opened.codec.fingerprint = model_fingerprint(opened.loaded.model, *opened.loaded.tokenizer,
                                               format_version >= kAdapterScaleFingerprintFormatVersion);
  return opened;
}

std::string file_prefix(const std::string& path, size_t bytes) {
  std::ifstream file(path, std::ios::binary);
  std::string prefix(bytes, '\0');
  file.read(prefix.data(), static_cast<std::streamsize>(bytes));
  prefix.resize(static_cast<size_t>(file.gcount()));
  return prefix;
}

// The model compress runs when the user names none: the shipped audio model for a WAV file, whose
// byte tokens suit audio-as-string where the text model's subwords do not; else the default model.
// Standard input cannot be read twice, so it always gets the default model.
OpenedModel open_compress_model(const CodecCommandOptions& options) {
  ModelOptions chosen = options.model;
  if (chosen.model.empty() && chosen.adapter.empty() && options.input != "-" &&
      (options.mode == "auto" || options.mode == "audio") && fs::is_directory(models_dir() / kAudioModel) &&
      data::looks_like_wav(file_prefix(options.input, 12))) {
    chosen.model = kAudioModel;
  }
  return open_model(chosen);
}

// Bytes that hold any archive's header (at most 56), read before the model is chosen.
constexpr size_t kArchiveHeadBytes = 64;

// The model decompress runs when the user names none: the shipped model (default first) whose
// fingerprint the archive's header records. If none has it, the default model, which decompress then
// refuses with the archive's fingerprint in the message. An xz or flac archive gets none: it needs none.
OpenedModel open_decompress_model(const CodecCommandOptions& options, const ArchiveHeader& header) {
  if (is_stream_archive(header.mode)) return {};
  if (!options.model.model.empty() || !options.model.adapter.empty()) {
    return open_model(options.model, header.format_version);
  }
  const uint64_t wanted = header.model_fingerprint;
  OpenedModel fallback = open_model(options.model, header.format_version);
  if (fallback.codec.fingerprint == wanted) return fallback;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(models_dir(), error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == "default" || name == "adapters") continue;
    ModelOptions candidate = options.model;
    candidate.model = entry.path().string();
    OpenedModel opened = open_model(candidate, header.format_version);
    if (opened.codec.fingerprint == wanted) return opened;
  }
  return fallback;
}

fs::path default_output(const std::string& input, bool compressing) {
  if (compressing) return input + kSuffix;
  if (input.size() <= std::string(kSuffix).size() || !input.ends_with(kSuffix)) {
    throw Error("'" + input + "' does not end in " + kSuffix + ": name the output with -o");
  }
  return input.substr(0, input.size() - std::string(kSuffix).size());
}

// Runs `work(in, out)` from the input file (or stdin) into the output file (or stdout), atomically. An
// output that is a device, a FIFO or a symbolic link (`-o /dev/null`, `-o /dev/stdout`) is written into,
// as a shell redirection would, never replaced by a new file, and the input is then kept: nothing lmc
// saved can be sure to stand in for it.
template <typename Work>
void run_file_to_file(const CodecCommandOptions& options, bool compressing, Work&& work) {
  const bool from_stdin = options.input == "-";
  std::string output = options.output;
  if (output.empty()) output = from_stdin ? "-" : default_output(options.input, compressing).string();
  const bool to_stdout = output == "-";
  if (!from_stdin && !fs::is_regular_file(options.input)) {
    throw Error("'" + options.input + "' is not a readable file");
  }
  // A closed descriptor reads as an empty file through std::cin: refused, not taken for one.
  if (from_stdin && ::fcntl(STDIN_FILENO, F_GETFD) == -1) throw Error("standard input is closed");
  if (!to_stdout && fs::is_directory(output)) throw Error("'" + output + "' is a directory");
  const bool exists = !to_stdout && fs::exists(output);  // through a link, as the checks below
  const bool special = exists && !fs::is_regular_file(output);
  const bool to_device = special || (!to_stdout && fs::is_symlink(output));
  if (exists && !special && !options.force) throw Error("'" + output + "' already exists (use -f to overwrite)");
  if (!from_stdin && exists && fs::equivalent(options.input, output)) {
    throw Error("input and output are the same file");
  }
  std::ifstream file_in;
  if (!from_stdin) {
    file_in.open(options.input, std::ios::binary);
    if (!file_in) throw Error("cannot open '" + options.input + "'");
  }
  std::istream& in = from_stdin ? std::cin : file_in;
  std::optional<uint64_t> size;
  if (!from_stdin) size = fs::file_size(options.input);
  if (to_stdout || to_device) {
    std::ofstream device;
    if (to_device) {
      device.open(output, std::ios::binary);
      if (!device) throw Error("cannot open '" + output + "' for writing");
    }
    std::ostream& out = to_device ? device : std::cout;
    work(in, size, out);
    out.flush();
    if (!out) throw Error(to_device ? "writing '" + output + "' failed" : "writing to stdout failed");
    return;
  }
  AtomicFile target{fs::path(output)};
  {
    RemoveOnSignal interrupted(target.temp_path());
    AtomicFileBuffer buffer(target);
    std::ostream out(&buffer);
    work(in, size, out);
    out.flush();
    if (!out) throw Error("writing '" + output + "' failed");
    target.commit();
    interrupted.disarm();
  }
  if (!options.keep && !from_stdin) {
    // The output is complete and in place: a failure to remove the input is reported, not an error.
    std::error_code error;
    fs::remove(options.input, error);
    if (error) {
      std::fprintf(stderr, "lmc %s: warning: kept '%s' (%s): '%s' is complete\n", compressing ? "compress" : "decompress",
                   options.input.c_str(), error.message().c_str(), output.c_str());
    }
  }
}

void print_stats(const CodecStats& s, bool as_json, bool compressing) {
  const double in = static_cast<double>(s.bytes_in);  // the original's bytes, which KB/s counts both ways
  nlohmann::json j = {{"mode", archive_mode_name(s.mode)},
                      {"bytes_in", compressing ? s.bytes_in : s.bytes_out},
                      {"bytes_out", compressing ? s.bytes_out : s.bytes_in},
                      {"chunks", s.chunks},
                      {"batch", s.batch},
                      {"stored_chunks", s.stored_chunks},
                      {"bypassed_chunks", s.bypassed_chunks},
                      {"bypassed_bytes", s.bypassed_bytes},
                      {"tokens", s.tokens},
                      {"seconds", s.seconds},
                      {"kb_per_second", s.seconds > 0 ? in / 1000.0 / s.seconds : 0.0}};
  const bool streams = is_stream_archive(s.mode);
  if (compressing) {
    j["bits_per_byte"] = s.bytes_in ? 8.0 * s.bytes_out / in : 0.0;
    j["ratio"] = s.bytes_out ? in / static_cast<double>(s.bytes_out) : 0.0;
    if (streams) {
      j["model_bytes_in"] = s.model_bytes_in;
      j["model_bytes_out"] = s.model_bytes_out;
    } else {
      // Over the bytes the model ran on: a chunk that bypassed it has no model bits.
      const double modelled = in - static_cast<double>(s.bypassed_bytes);
      j["model_bits_per_byte"] = modelled > 0 ? (s.model_bits + s.side_bits) / modelled : 0.0;
    }
  }
  if (as_json) {
    std::cout << j.dump() << "\n";
  } else if (compressing && streams) {
    std::fprintf(stderr, "%s: %llu -> %llu bytes, %.4f bits/byte, ratio %.3f, %.1f KB/s (%s's stream: the model's "
                 "archive was already %llu bytes after %llu input bytes)\n",
                 archive_mode_name(s.mode).c_str(), static_cast<unsigned long long>(s.bytes_in),
                 static_cast<unsigned long long>(s.bytes_out),
                 j["bits_per_byte"].get<double>(), j["ratio"].get<double>(), j["kb_per_second"].get<double>(),
                 baseline_name(s.mode == ArchiveMode::kXz ? Baseline::kXz : Baseline::kFlac).c_str(),
                 static_cast<unsigned long long>(s.model_bytes_out),
                 static_cast<unsigned long long>(s.model_bytes_in));
  } else if (compressing) {
    std::fprintf(stderr, "%s: %llu -> %llu bytes, %.4f bits/byte (model %.4f), ratio %.3f, %.1f KB/s\n",
                 archive_mode_name(s.mode).c_str(), static_cast<unsigned long long>(s.bytes_in),
                 static_cast<unsigned long long>(s.bytes_out), j["bits_per_byte"].get<double>(),
                 j["model_bits_per_byte"].get<double>(), j["ratio"].get<double>(), j["kb_per_second"].get<double>());
  }
}

// "auto" is 0, CompressOptions' word for auto_batch's choice.
int64_t parse_batch(const std::string& text) {
  if (text == "auto") return 0;
  int64_t batch = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), batch);
  if (error != std::errc() || end != text.data() + text.size() || batch < 1 || batch > 65536) {
    throw Error("--batch: expected auto or a number of chunks in 1..65536, got '" + text + "'");
  }
  return batch;
}

// --json and an output on stdout would interleave the statistics with the data.
void check_json_output(const CodecCommandOptions& options, const char* what) {
  if (options.as_json && (options.output == "-" || (options.output.empty() && options.input == "-"))) {
    throw Error(std::string("--json prints to stdout, so ") + what + " cannot go there too: name it with -o");
  }
}

// --mode audio on a file that is not PCM WAV: refused before any model loads or xz runs, naming the file.
// (compress() refuses standard input that is not, once it has read it.)
void check_audio_mode_input(const CodecCommandOptions& options) {
  if (options.mode != "audio" || options.input == "-") return;
  with_context(options.input, [&] {
    const data::RegionReader file({options.input, 0, data::regular_file_size(options.input)});
    require_pcm_wav(file.as_read_at(), file.size());
  });
}

void run_compress(const CodecCommandOptions& options) {
  check_json_output(options, "the archive");
  check_audio_mode_input(options);
  CompressOptions codec_options;
  codec_options.mode = parse_compress_mode(options.mode);
  codec_options.chunk_bytes = options.chunk_bytes;
  codec_options.batch = parse_batch(options.batch);
  codec_options.store_incompressible = !options.no_store;
  if (options.match || options.no_match) codec_options.match_model = options.match;
  OpenedModel opened = open_compress_model(options);
  // Standard input cannot be read twice, as weighing the model against xz and flac needs; --no-store
  // measures the model, so it keeps the model's archive too.
  const bool weigh_streams = !options.model_only && !options.no_store && options.input != "-";
  CodecStats stats;
  run_file_to_file(options, true, [&](std::istream& in, std::optional<uint64_t> size, std::ostream& out) {
    ProgressLine progress("compress", size);
    auto compress_into = [&](std::ostream& archive) {
      return weigh_streams ? compress_smallest(opened.codec, in, size, archive, codec_options, std::ref(progress))
                           : compress(opened.codec, in, size, archive, codec_options, std::ref(progress));
    };
    if (!options.verify) {
      stats = compress_into(out);
      return;
    }
    std::stringstream archive;
    stats = compress_into(archive);
    DiscardBuffer discard;
    std::ostream sink(&discard);
    archive.seekg(0);
    with_context("--verify", [&] { return decompress(opened.codec, archive, sink); });
    archive.seekg(0);
    out << archive.rdbuf();
  });
  print_stats(stats, options.as_json, true);
}

void run_decompress(const CodecCommandOptions& options) {
  check_json_output(options, "the restored file");
  CodecStats stats;
  const std::string archive_name = options.input == "-" ? "standard input" : options.input;
  run_file_to_file(options, false, [&](std::istream& in, std::optional<uint64_t>, std::ostream& out) {
    // The header names the model, so it is read first and replayed to the decoder.
    std::string head(kArchiveHeadBytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    PrefixedBuffer replay(head, in.rdbuf());
    std::istream archive(&replay);
    const ArchiveHeader header = with_context(archive_name, [&] {
      std::istringstream head_stream(head);
      return ArchiveReader(head_stream).header();
    });
    OpenedModel opened = open_decompress_model(options, header);
    ProgressLine progress("decompress", std::nullopt);
    stats = with_context(archive_name, [&] { return decompress(opened.codec, archive, out, std::ref(progress)); });
  });
  if (options.as_json) print_stats(stats, true, false);
}

CLI::App* add_common(CLI::App& app, const char* name, const char* help, CodecCommandOptions& options) {
  auto* command = app.add_subcommand(name, help);
  add_model_options(*command, options.model);
  command->add_option("-o,--output", options.output, "output file, - for stdout (default: IN.lmc / IN without .lmc)");
  command->add_flag("-k,--keep", options.keep, "keep the input file");
  command->add_flag("-f,--force", options.force, "overwrite an existing output file");
  command->add_flag("--json", options.as_json, "print statistics as one JSON object on stdout");
  command->add_option("IN", options.input, "input file, or - for stdin")->required();
  return command;
}

}  // namespace

void register_codec_commands(CLI::App& app) {
  auto compress_options = std::make_shared<CodecCommandOptions>();
  auto* compress_command = add_common(app, "compress", "Compress a file losslessly with a language model", *compress_options);
  compress_command->add_option("--mode", compress_options->mode, "auto, text, bytes or audio (PCM WAV)")->capture_default_str();
  compress_command->add_option("--chunk-bytes", compress_options->chunk_bytes,
                               "bytes per independently coded chunk (default 2048; PCM WAV: the whole sample frames "
                               "that fit in 2048)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  compress_command->add_option("--batch", compress_options->batch,
                               "chunks coded in lockstep: auto (64, fewer if a large model's KV cache would pass 2 GiB) or N")
      ->capture_default_str();
  compress_command->add_flag("--verify", compress_options->verify, "decompress the archive in memory before writing it");
  compress_command->add_flag("--no-store", compress_options->no_store,
                             "code every chunk, even one that coding does not shrink, and keep the model's archive "
                             "(measures the model and coder)");
  compress_command->add_flag("--model-only", compress_options->model_only,
                             "keep the model's archive even where xz -9e's (or a WAV's flac -8's) is smaller (by default "
                             "lmc keeps the smallest, and stdin always gets the model's)");
  auto* no_match = compress_command->add_flag(
      "--no-match", compress_options->no_match,
      "code with the model's tables alone, without the match model for repeated tokens (the default for audio)");
  compress_command
      ->add_flag("--match", compress_options->match,
                 "use the match model in audio too (text and bytes use it unless --no-match)")
      ->excludes(no_match);
  compress_command->callback([compress_options] { run_compress(*compress_options); });

  auto decompress_options = std::make_shared<CodecCommandOptions>();
  auto* decompress_command = add_common(app, "decompress", "Restore a file compressed by lmc compress", *decompress_options);
  decompress_command->callback([decompress_options] { run_decompress(*decompress_options); });
}

}  // namespace lmc::apps

// Input expansion and document indexing. Every document's size is known after the scan, which is what lets
// split sizes be given as fractions and be checked before anything is written.
#include "data/corpus.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/flac.h"
#include "data/tar.h"
#include "data/wav.h"

namespace lmc::data {
namespace fs = std::filesystem;

std::string modality_name(Modality modality) { return modality == Modality::Text ? "text" : "audio"; }

Modality parse_modality(std::string_view name) {
  if (name == "text") return Modality::Text;
  if (name == "audio") return Modality::Audio;
  throw Error("unknown modality '" + std::string(name) + "' (expected text or audio)");
}

std::string jsonl_field_value(std::string_view line, const std::string& field) {
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what());
  }
  if (!value.is_object()) throw Error("not a JSON object");
  auto it = value.find(field);
  if (it == value.end() || !it->is_string()) {
    throw Error("no string field \"" + field + "\" (choose the field with --jsonl-field)");
  }
  return it->get<std::string>();
}

std::string document_name(const Corpus& corpus, const DocRef& doc) {
  std::string name = corpus.labels[doc.label];
  if (doc.kind == DocKind::JsonlLine) name.append(":").append(std::to_string(doc.line));
  return name;
}

FileRegion document_region(const Corpus& corpus, const DocRef& doc) {
  return FileRegion{corpus.files[doc.file], doc.offset, doc.length};
}

namespace {

std::string lower_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool is_audio_name(const std::string& name) {
  std::string ext = lower_extension(name);
  return ext == ".wav" || ext == ".flac";
}

bool has_glob_chars(const std::string& input) { return input.find_first_of("*?[") != std::string::npos; }

class Scanner {
 public:
  Scanner(const ScanOptions& options, const ScanProgress& progress) : options_(options), progress_(progress) {
    corpus_.jsonl_field = options.jsonl_field;
  }

  void add_input(const std::string& input) {
    if (has_glob_chars(input) && !fs::exists(input)) {
      for (const auto& match : expand_glob(input)) add_path(match, false);
    } else {
      add_path(input, true);
    }
  }

  Corpus take() { return std::move(corpus_); }

 private:
  static std::vector<fs::path> expand_glob(const std::string& pattern) {
    glob_t matches{};
    int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);
    std::vector<fs::path> paths(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    globfree(&matches);
    if (rc == GLOB_NOMATCH) throw Error("no files match " + pattern);
    if (rc != 0) throw Error("cannot expand " + pattern);
    return paths;
  }

  void add_path(const fs::path& path, bool explicit_input) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      auto it = fs::recursive_directory_iterator(path, fs::directory_options::none, ec);
      if (ec) throw Error("cannot read directory " + path.string() + ": " + ec.message());
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) throw Error("cannot read directory " + path.string() + ": " + ec.message());
        if (it->path().filename().string().starts_with(".")) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (!it->is_directory()) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) add_file(file, false);
    } else {
      add_file(path, explicit_input);
    }
  }

  void add_file(const fs::path& path, bool explicit_input) {
    uint64_t size = regular_file_size(path);
    if (lower_extension(path.string()) == ".tar") {
      auto file = intern_file(path);
      for (const auto& member : list_tar_members(path)) {
        add_document_file(file, path.string() + ":" + member.name, member.name, member.offset, member.size, false);
      }
    } else {
      add_document_file(intern_file(path), path.string(), path.string(), 0, size, explicit_input);
    }
    if (progress_) progress_(corpus_.docs.size());
  }

  uint32_t intern_file(const fs::path& path) {
    corpus_.files.push_back(path);
    return static_cast<uint32_t>(corpus_.files.size() - 1);
  }

  void add_document_file(uint32_t file, const std::string& label, const std::string& name, uint64_t offset,
                         uint64_t length, bool explicit_input) {
    bool audio = is_audio_name(name);
    bool nested_tar = lower_extension(name) == ".tar";
    if (audio != (options_.modality == Modality::Audio) || nested_tar) {
      if (explicit_input) {
        throw Error(label + (audio ? " is audio: use --modality audio"
                                   : " is not a .wav or .flac file, as --modality audio needs"));
      }
      corpus_.skipped.push_back(label);
      return;
    }
    corpus_.labels.push_back(label);
    DocRef doc;
    doc.file = file;
    doc.label = static_cast<uint32_t>(corpus_.labels.size() - 1);
    doc.offset = offset;
    doc.length = length;
    with_context(label, [&] {
      std::string ext = lower_extension(name);
      if (ext == ".jsonl") {
        index_jsonl(doc);
      } else if (ext == ".wav") {
        index_wav(doc);
      } else if (ext == ".flac") {
        index_flac(doc);
      } else {
        doc.kind = DocKind::Text;
        doc.size = length;
        push(doc);
      }
    });
  }

  void push(const DocRef& doc) {
    corpus_.docs.push_back(doc);
    corpus_.total_bytes += doc.size;
  }

  void index_jsonl(const DocRef& file_doc) {
    RegionReader reader(document_region(corpus_, file_doc));
    constexpr uint64_t kBlock = 1 << 20;
    std::string pending;  // the current line's bytes so far
    uint64_t line_start = 0;
    uint64_t line_number = 0;
    auto finish_line = [&](uint64_t end) {
      ++line_number;
      bool blank = std::all_of(pending.begin(), pending.end(), [](unsigned char c) { return std::isspace(c); });
      if (!blank) {
        DocRef doc = file_doc;
        doc.kind = DocKind::JsonlLine;
        doc.line = line_number;
        doc.offset = file_doc.offset + line_start;
        doc.length = end - line_start;
        doc.size = with_context("line " + std::to_string(line_number),
                                [&] { return jsonl_field_value(pending, options_.jsonl_field).size(); });
        push(doc);
      }
      pending.clear();
    };
    std::string block;
    for (uint64_t pos = 0; pos < reader.size(); pos += block.size()) {
      block.resize(std::min(kBlock, reader.size() - pos));
      reader.read_at(pos, std::span<uint8_t>(reinterpret_cast<uint8_t*>(block.data()), block.size()));
      size_t begin = 0;
      for (size_t nl; (nl = block.find('\n', begin)) != std::string::npos; begin = nl + 1) {
        pending.append(block, begin, nl - begin);
        finish_line(pos + nl);
        line_start = pos + nl + 1;
      }
      pending.append(block, begin);
    }
    if (line_start < reader.size()) finish_line(reader.size());
  }

  void index_wav(DocRef doc) {
    RegionReader reader(document_region(corpus_, doc));
    WavLayout layout = parse_wav(reader.as_read_at(), reader.size());
    doc.kind = DocKind::Wav;
    doc.format = layout.format;
    doc.offset += layout.data_offset;
    doc.length = layout.data_size;
    doc.size = layout.data_size;
    push(doc);
  }

  void index_flac(DocRef doc) {
    RegionReader reader(document_region(corpus_, doc));
    FlacInfo info = read_flac_info(reader.as_read_at(), reader.size());
    if (info.total_frames == 0) {  // STREAMINFO left the length out: only decoding tells
      info = decode_flac(reader.as_read_at(), reader.size(), [](std::span<const uint8_t>) {});
    }
    doc.kind = DocKind::Flac;
    doc.format = info.format;
    doc.size = info.total_frames * info.format.bytes_per_frame();
    push(doc);
  }

  const ScanOptions& options_;
  const ScanProgress& progress_;
  Corpus corpus_;
};

}  // namespace

Corpus scan_corpus(const std::vector<std::string>& inputs, const ScanOptions& options,
                   const ScanProgress& progress) {
  Scanner scanner(options, progress);
  for (const auto& input : inputs) scanner.add_input(input);
  return scanner.take();
}

}  // namespace lmc::data

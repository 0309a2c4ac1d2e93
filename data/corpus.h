// Turns `lmc prepare --inputs` (files, directories, globs) into an index of documents without loading them:
// each document is a region of a file on disk plus how to read it (plain bytes, one JSONL line's field, a WAV
// data chunk, a FLAC stream) and its size in document bytes. Tar members are indexed in place. Directories
// are walked recursively in sorted order, skipping hidden entries; globs expand in sorted order.
// Files of the other modality are skipped when found inside a directory, glob or tar (and listed in
// `skipped`), but are an error when named explicitly. Reading the documents' bytes is document_stream.h's job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/file_region.h"
#include "data/pcm_format.h"

namespace lmc::data {

enum class Modality { Text, Audio };
std::string modality_name(Modality modality);
Modality parse_modality(std::string_view name);  // "text" | "audio"; throws lmc::Error otherwise

enum class DocKind : uint8_t { Text, JsonlLine, Wav, Flac };

struct DocRef {
  uint32_t file = 0;     // index into Corpus::files: the file on disk holding the document
  uint32_t label = 0;    // index into Corpus::labels: the file or "archive.tar:member" name
  uint64_t line = 0;     // 1-based JSONL line number, 0 for other kinds
  uint64_t offset = 0;   // region within the file: the whole member, the JSONL line, the WAV data chunk,
  uint64_t length = 0;   //   the FLAC stream
  uint64_t size = 0;     // document bytes: text bytes, the JSONL field's UTF-8 bytes, PCM bytes
  DocKind kind = DocKind::Text;
  PcmFormat format;      // audio documents only
};

struct Corpus {
  std::vector<std::filesystem::path> files;
  std::vector<std::string> labels;
  std::vector<DocRef> docs;  // in input order
  uint64_t total_bytes = 0;
  std::vector<std::string> skipped;  // files left out because they belong to the other modality
  std::string jsonl_field;           // the field JSONL documents were read from
};

struct ScanOptions {
  Modality modality = Modality::Text;
  std::string jsonl_field = "text";
};

// Called after each input file is indexed with the number of documents found so far.
using ScanProgress = std::function<void(uint64_t documents)>;

// Throws lmc::Error naming the input on a missing/unreadable path, a glob matching nothing, a bad JSONL
// line, a non-PCM WAV or a corrupt FLAC header.
Corpus scan_corpus(const std::vector<std::string>& inputs, const ScanOptions& options,
                   const ScanProgress& progress = {});

// "path" / "archive.tar:member", with ":LINE" appended for JSONL documents.
std::string document_name(const Corpus& corpus, const DocRef& doc);
FileRegion document_region(const Corpus& corpus, const DocRef& doc);

// The string value of `field` in one JSONL line, as UTF-8 bytes; throws lmc::Error if the line is not a JSON
// object or the field is missing or not a string.
std::string jsonl_field_value(std::string_view line, const std::string& field);

}  // namespace lmc::data
